using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using static TorchSharp.torch;
using LocallyMasked.Training.Pictures;

namespace LocallyMasked.Cli.Imaging;

/// <summary>
/// Sampling and completion of any number of images in batches, with memory independent of the count: each batch is
/// generated, added to the current sheet and forgotten, and every sheet is written as a PNG as soon as it is full.
/// Batch b uses the seed (seed, b), so a command's images depend only on its seed, count and batch size.
/// </summary>
public static class ImageBatches
{
    /// <summary>Most images in one sample sheet (a 16 x 16 grid).</summary>
    public const int SamplesPerSheet = 256;

    /// <summary>Most images in one completion sheet (32 columns of context, completion and original).</summary>
    public const int CompletionsPerSheet = 32;

    /// <summary>The sampling seed of batch <paramref name="batch"/>: the seed itself for the first batch.</summary>
    /// <param name="seed">The --seed value.</param>
    /// <param name="batch">The batch index.</param>
    public static long SeedOf(ulong seed, long batch)
    {
        if (batch == 0) return unchecked((long)seed);
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)batch;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((long)(z ^ (z >> 31)));
    }

    /// <summary>The file of sheet <paramref name="index"/> of <paramref name="sheets"/>: NAME.png for one sheet, NAME-001.png ... for more.</summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="name">The base name.</param>
    /// <param name="index">The sheet's index.</param>
    /// <param name="sheets">How many sheets the command writes.</param>
    public static string SheetPath(string folder, string name, int index, int sheets) =>
        Path.Combine(folder, sheets <= 1 ? $"{name}.png" : $"{name}-{(index + 1).ToString($"D{Math.Max(3, sheets.ToString().Length)}")}.png");

    /// <summary>Whether <paramref name="fileName"/> is one of the names <see cref="SheetPath"/> gives <paramref name="sheets"/> sheets.</summary>
    /// <param name="fileName">A file name (no folder).</param>
    /// <param name="name">The sheets' base name.</param>
    /// <param name="sheets">How many sheets the command writes.</param>
    public static bool IsSheetName(string fileName, string name, int sheets)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(name);
        if (sheets <= 1) return fileName == $"{name}.png";
        int digits = Math.Max(3, sheets.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        string prefix = $"{name}-";
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal) || !fileName.EndsWith(".png", StringComparison.Ordinal)) return false;
        var number = fileName.AsSpan(prefix.Length, fileName.Length - prefix.Length - 4);
        return number.Length == digits && int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
            && index >= 1 && index <= sheets;
    }

    /// <summary>How many sheets <paramref name="count"/> images fill at <paramref name="perSheet"/> a sheet.</summary>
    /// <param name="count">The images.</param>
    /// <param name="perSheet">Images per sheet.</param>
    public static int SheetCount(int count, int perSheet) => (int)(((long)count + perSheet - 1) / perSheet);

    /// <summary>Samples <paramref name="count"/> images in batches and writes them as sheets of at most <see cref="SamplesPerSheet"/>.</summary>
    /// <param name="terminal">For progress.</param>
    /// <param name="sampler">The sampler.</param>
    /// <param name="order">The generation order.</param>
    /// <param name="count">How many images.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="temperature">The sampling temperature.</param>
    /// <param name="folder">The output folder.</param>
    /// <param name="name">The sheets' base name.</param>
    /// <param name="stop">Stops after the current batch (the sheet so far is written).</param>
    /// <param name="scale">The PNG upscaling factor.</param>
    /// <returns>The sheets written and the number of images in them.</returns>
    public static (IReadOnlyList<string> Sheets, int Images) Sample(Terminal terminal, ImageSampler sampler, GenerationOrder order, int count,
        int batchSize, ulong seed, double temperature, string folder, string name, CancellationToken stop, int scale = 3)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(order);
        int sheets = SheetCount(count, SamplesPerSheet);
        long pixels = order.PixelCount;
        var written = new List<string>();
        int done = 0;
        terminal.WithProgress("sampling", (long)count * pixels, line =>
        {
            var pending = new List<Tensor>();
            int inSheet = 0;
            try
            {
                for (long batch = 0; done < count && !stop.IsCancellationRequested; batch++)
                {
                    int n = Math.Min(Math.Min(batchSize, count - done), SamplesPerSheet - inSheet);
                    int before = done, steps = 0;
                    var options = new SamplingOptions
                    {
                        Seed = SeedOf(seed, batch),
                        Temperature = temperature,
                        StepObserver = (_, _) => Step(line, before, n, count, ++steps, pixels),
                    };
                    using (var scope = NewDisposeScope())
                        pending.Add(sampler.Sample(order, n, options).cpu().MoveToOuterDisposeScope());
                    done += n;
                    inSheet += n;
                    line.Report((long)done * pixels, BatchProgress.After(done, count));
                    if (inSheet == SamplesPerSheet || done == count)
                    {
                        written.Add(WriteGrid(pending, SheetPath(folder, name, written.Count, sheets), scale));
                        inSheet = 0;
                    }
                }
                if (pending.Count > 0) written.Add(WriteGrid(pending, SheetPath(folder, name, written.Count, sheets), scale));
            }
            finally
            {
                foreach (var t in pending) t.Dispose();
            }
        });
        return (written, done);
    }

    /// <summary>
    /// Completes the region of test images <paramref name="first"/> .. first + count - 1 in batches and writes sheets of
    /// at most <see cref="CompletionsPerSheet"/> (rows: context, completion, original).
    /// </summary>
    /// <param name="terminal">For progress.</param>
    /// <param name="sampler">The sampler.</param>
    /// <param name="originals">Encodes the images with the given indices (N, C, H, W) on the model's device.</param>
    /// <param name="region">The region to generate.</param>
    /// <param name="order">The order, with the region last.</param>
    /// <param name="first">The first image index.</param>
    /// <param name="count">How many images.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="temperature">The sampling temperature.</param>
    /// <param name="folder">The output folder.</param>
    /// <param name="name">The sheets' base name.</param>
    /// <param name="stop">Stops after the current batch (the sheet so far is written).</param>
    /// <returns>The sheets written and the number of images in them.</returns>
    public static (IReadOnlyList<string> Sheets, int Images) Complete(Terminal terminal, ImageSampler sampler, Func<int[], Tensor> originals,
        ImageRegion region, GenerationOrder order, int first, int count, int batchSize, ulong seed, double temperature, string folder, string name,
        CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(originals);
        ArgumentNullException.ThrowIfNull(region);
        int sheets = SheetCount(count, CompletionsPerSheet);
        long pixels = region.Pixels.Count;
        var written = new List<string>();
        int done = 0;
        terminal.WithProgress("completing", (long)count * pixels, line =>
        {
            var completed = new List<Tensor>();
            var context = new List<Tensor>();
            int inSheet = 0;
            void Flush()
            {
                using var scope = NewDisposeScope();
                var sheet = ImageSheets.Completions(cat(completed, 0), cat(context, 0), region);
                string path = SheetPath(folder, name, written.Count, sheets);
                PngWriter.Write(sheet, path, scale: 3);
                written.Add(path);
                foreach (var t in completed.Concat(context)) t.Dispose();
                completed.Clear();
                context.Clear();
                inSheet = 0;
            }
            try
            {
                for (long batch = 0; done < count && !stop.IsCancellationRequested; batch++)
                {
                    int n = Math.Min(Math.Min(batchSize, count - done), CompletionsPerSheet - inSheet);
                    int before = done, steps = 0;
                    var options = new SamplingOptions
                    {
                        Seed = SeedOf(seed, batch),
                        Temperature = temperature,
                        StepObserver = (_, _) => Step(line, before, n, count, ++steps, pixels),
                    };
                    using (var scope = NewDisposeScope())
                    {
                        var x = originals(Enumerable.Range(first + done, n).ToArray());
                        completed.Add(sampler.Complete(x, region, order, options).cpu().MoveToOuterDisposeScope());
                        context.Add(x.cpu().MoveToOuterDisposeScope());
                    }
                    done += n;
                    inSheet += n;
                    line.Report((long)done * pixels, BatchProgress.After(done, count));
                    if (inSheet == CompletionsPerSheet || done == count) Flush();
                }
                if (completed.Count > 0) Flush();
            }
            finally
            {
                foreach (var t in completed.Concat(context)) t.Dispose();
            }
        });
        return (written, done);
    }

    /// <summary>
    /// Reports a step of a batch; the batch's last step is left to the report after the batch, which says how many images
    /// are finished (a step that completes the work would otherwise end the progress with the batch's text).
    /// </summary>
    private static void Step(Terminal.ProgressLine line, int before, int batch, int count, int step, long pixels)
    {
        if (step < pixels) line.Report(BatchProgress.Done(before, batch, step, pixels), BatchProgress.During(before, batch, count, step, pixels));
    }

    private static string WriteGrid(List<Tensor> pending, string path, int scale)
    {
        using (var scope = NewDisposeScope())
            PngWriter.Write(ImageSheets.Grid(cat(pending, 0), scale: 1), path, scale);
        foreach (var t in pending) t.Dispose();
        pending.Clear();
        return path;
    }
}
