using System.Globalization;
using System.Text;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Results;

/// <summary>
/// One row per image of an evaluation result, as <c>evaluate --per-image</c>, <c>merge --per-image</c> and <c>score</c>
/// write it: <c>index,file,ensemble_nats,ensemble_bpd,order_0_nats,order_0_bpd,...</c> and, with a region,
/// <c>region_nats,region_bpd</c>. Numbers are written so that they read back as the same doubles: the mean of a nats
/// column over the rows, added in row order, is the result's figure exactly (of a bpd column, to rounding).
/// </summary>
public static class PerImageCsv
{
    /// <summary>The header line's columns for <paramref name="orders"/> orders, with or without a region.</summary>
    /// <param name="orders">How many orders.</param>
    /// <param name="region">Whether a region was scored.</param>
    public static IReadOnlyList<string> Columns(int orders, bool region)
    {
        var columns = new List<string> { "index", "file", "ensemble_nats", "ensemble_bpd" };
        for (int o = 0; o < orders; o++) columns.AddRange(new[] { $"order_{o}_nats", $"order_{o}_bpd" });
        if (region) columns.AddRange(new[] { "region_nats", "region_bpd" });
        return columns;
    }

    /// <summary>The table of <paramref name="result"/>'s images, in the given row order (default: image order).</summary>
    /// <param name="result">The result.</param>
    /// <param name="rows">The images' positions in <see cref="EvaluationResult.PerImage"/>, in the order to write them; null: all, in order.</param>
    public static string Format(EvaluationResult result, IEnumerable<int>? rows = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        double ln2 = Math.Log(2);
        string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        string Bpd(double nats, int dimensions) => Number(nats / (dimensions * ln2));
        var text = new StringBuilder();
        text.Append(string.Join(',', Columns(result.Orders.Count, result.Region is not null))).Append('\n');
        foreach (int i in rows ?? Enumerable.Range(0, result.PerImage.Count))
        {
            var image = result.PerImage[i];
            var cells = new List<string>
            {
                image.Index.ToString(CultureInfo.InvariantCulture), Quote(image.File ?? string.Empty),
                Number(image.Ensemble), Bpd(image.Ensemble, result.Data.Dimensions),
            };
            foreach (double nats in image.Nats) cells.AddRange(new[] { Number(nats), Bpd(nats, result.Data.Dimensions) });
            if (result.Region is { } region) cells.AddRange(new[] { Number(image.Region!.Value), Bpd(image.Region.Value, region.Dimensions) });
            text.Append(string.Join(',', cells)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>A cell as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break.</summary>
    private static string Quote(string cell) =>
        cell.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? cell : "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
