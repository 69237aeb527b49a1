using System.Globalization;
using ScottPlot;

namespace LocallyMasked.Cli.Logs;

/// <summary>
/// Draws a run's learning curves (running training loss and test evaluations against the step) from its metrics.csv
/// with ScottPlot. The text is drawn with the DejaVu Sans files shipped beside the program (Fonts/): SkiaSharp without
/// system fonts would draw the plot without any text.
/// </summary>
public static class LearningCurves
{
    /// <summary>The font family name the shipped files are registered under.</summary>
    public const string FontName = "lmconv DejaVu Sans";

    private static readonly object FontLock = new();
    private static bool fontsRegistered;

    /// <summary>Registers the shipped fonts once and makes them ScottPlot's default; false when the files are missing.</summary>
    public static bool RegisterFonts()
    {
        lock (FontLock)
        {
            if (fontsRegistered) return true;
            string folder = Path.Combine(AppContext.BaseDirectory, "Fonts");
            string regular = Path.Combine(folder, "DejaVuSans.ttf"), bold = Path.Combine(folder, "DejaVuSans-Bold.ttf");
            if (!File.Exists(regular) || !File.Exists(bold)) return false;
            Fonts.AddFontFile(FontName, regular);
            Fonts.AddFontFile(FontName, bold, bold: true);
            Fonts.Default = FontName;
            fontsRegistered = true;
            return true;
        }
    }

    /// <summary>
    /// The y axis' range: from the lowest value to the highest after the first tenth of the steps (the first steps' loss is
    /// several times the rest, and would flatten the useful range into a line), with a margin of 5% of the range on
    /// each side. Values above it are drawn off the plot, and the title says how high they go.
    /// </summary>
    /// <param name="steps">The steps of the training points, ascending.</param>
    /// <param name="train">The running training loss at those steps.</param>
    /// <param name="test">The test evaluations (all of them count).</param>
    /// <returns>The bottom and top of the axis, and the first step whose value counts for the top.</returns>
    public static (double Bottom, double Top, double FromStep) YRange(IReadOnlyList<double> steps, IReadOnlyList<double> train, IReadOnlyList<double> test)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        if (train.Count == 0 || steps.Count != train.Count) throw new ArgumentException("Expected one training value per step, at least one.", nameof(train));
        double from = steps[0] + (steps[^1] - steps[0]) / 10;
        var kept = train.Where((_, i) => steps[i] >= from).Concat(test).ToArray();
        double low = train.Concat(test).Min(), high = kept.Max();
        double margin = high > low ? (high - low) * 0.05 : Math.Max(1e-3, Math.Abs(high) * 0.05);
        return (low - margin, high + margin, from);
    }

    /// <summary>Writes the plot of <paramref name="csvPath"/> to <paramref name="pngPath"/>.</summary>
    /// <param name="csvPath">A metrics.csv written by <see cref="TrainingLog"/>.</param>
    /// <param name="pngPath">The PNG to write.</param>
    /// <param name="bitsPerDimension">Bits per dimension (true) or nats per image (false).</param>
    /// <returns>False when the CSV has no rows.</returns>
    public static bool Write(string csvPath, string pngPath, bool bitsPerDimension)
    {
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length < 2) return false;
        var header = lines[0].Split(',');
        int step = Array.IndexOf(header, "step");
        int train = Array.IndexOf(header, bitsPerDimension ? "running_loss_bpd" : "running_loss_nats");
        int test = Array.IndexOf(header, bitsPerDimension ? "test_bpd" : "test_nats");
        var xs = new List<double>();
        var ys = new List<double>();
        var testXs = new List<double>();
        var testYs = new List<double>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            if (cells.Length != header.Length) continue;
            if (!double.TryParse(cells[step], NumberStyles.Float, CultureInfo.InvariantCulture, out double x)) continue;
            if (double.TryParse(cells[train], NumberStyles.Float, CultureInfo.InvariantCulture, out double y) && double.IsFinite(y))
            {
                xs.Add(x);
                ys.Add(y);
            }
            if (double.TryParse(cells[test], NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && double.IsFinite(t))
            {
                testXs.Add(x);
                testYs.Add(t);
            }
        }
        if (xs.Count == 0) return false;

        RegisterFonts();
        var plot = new Plot();
        var trainLine = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
        trainLine.LegendText = "train (running mean of 50 steps)";
        trainLine.LineWidth = 2;
        if (testXs.Count > 0)
        {
            var testLine = plot.Add.Scatter(testXs.ToArray(), testYs.ToArray());
            testLine.LegendText = "test";
            testLine.MarkerSize = 7;
            testLine.LineWidth = 1;
        }
        var (bottom, top, from) = YRange(xs, ys, testYs);
        plot.Axes.SetLimitsY(bottom, top);
        double highest = ys.Concat(testYs).Max();
        plot.Title(highest > top
            ? $"Learning curves (y axis fitted from step {from:0} on; the first steps reach {highest:0.#})"
            : "Learning curves");
        plot.XLabel("step");
        plot.YLabel(bitsPerDimension ? "bits per dimension" : "nats per image");
        plot.ShowLegend(Alignment.UpperRight);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(pngPath));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        plot.SavePng(pngPath, 900, 540);
        return true;
    }
}
