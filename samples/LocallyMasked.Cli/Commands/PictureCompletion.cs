using System.Globalization;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Outputs;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using static TorchSharp.torch;
using LocallyMasked.Training.Pictures;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>complete --image</c>: completes the user's own pictures where a mask (or a region) says pixels are missing, with
/// the missing pixels generated last. Writes every completion as NAME-completed.png (NAME-completed-K.png for
/// --count above 1; at the model's size, observed pixels equal to the picture after the model's quantization), sheets
/// of <see cref="SheetRows"/> pictures (context, up to <see cref="SheetCompletions"/> completions, original) and the
/// manifest. Completions are generated in batches of --batch-size over all pictures, and written as each batch ends,
/// so memory does not grow with --count.
/// </summary>
public static class PictureCompletion
{
    /// <summary>Pictures per sheet.</summary>
    public const int SheetRows = 16;

    /// <summary>Completions of a picture shown on its sheet row (all of them are written as files).</summary>
    public const int SheetCompletions = 8;

    /// <summary>The files a run writes, in the order it writes them (completions batch by batch, sheets when full).</summary>
    /// <param name="names">The pictures' names.</param>
    /// <param name="count">Completions per picture.</param>
    /// <param name="sheetName">The sheets' base name.</param>
    public static IReadOnlyList<string> PlannedFiles(IReadOnlyList<string> names, int count, string sheetName)
    {
        ArgumentNullException.ThrowIfNull(names);
        var files = names.SelectMany(name => Enumerable.Range(1, count).Select(k => CompletionFile(name, k, count))).ToList();
        int sheets = ImageBatches.SheetCount(names.Count, SheetRows);
        files.AddRange(Enumerable.Range(0, sheets).Select(i => Path.GetFileName(ImageBatches.SheetPath(".", sheetName, i, sheets))));
        files.Add(RunManifest.FileName(sheetName));
        return files;
    }

    /// <summary>NAME-completed.png for one completion, NAME-completed-K.png (K from 1, as wide as the count) for more.</summary>
    /// <param name="name">The picture's name.</param>
    /// <param name="completion">Which completion, from 1.</param>
    /// <param name="count">Completions per picture.</param>
    public static string CompletionFile(string name, int completion, int count) => count == 1
        ? $"{name}-completed.png"
        : $"{name}-completed-{completion.ToString($"D{count.ToString(CultureInfo.InvariantCulture).Length}", CultureInfo.InvariantCulture)}.png";

    /// <summary>Runs <c>complete --image</c>.</summary>
    /// <param name="settings">The settings (<see cref="CompleteSettings.Images"/> not empty).</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(CompleteSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        if (!CompleteParts.Applies) return Complete(settings, terminal);
        // Under mpiexec rank 0 completes every picture and writes the files (a user's pictures are few, and every file is
        // then one process's); the other ranks wait for it. An error on rank 0 stops them all.
        using var group = RankGroup.Join();
        return group.Run(terminal, t =>
        {
            if (group.IsRoot) t.Line($"{group.Size} MPI ranks: rank 0 completes the pictures alone (--image is not split over ranks)");
            int code = group.IsRoot ? Complete(settings, t) : ExitCodes.Success;
            group.Gather(code, group.WaitForOthers(TimeSpan.Zero, group.IsRoot ? 1 : 0, 1));
            return code;
        });
    }

    private static int Complete(CompleteSettings settings, Terminal terminal)
    {
        string path = settings.Model.Checkpoint;
        Checks.ExistingFile(path, "--checkpoint");
        Checks.WritableFolder(settings.Output, "--output");
        foreach (var image in settings.Images) PictureReader.CheckExists(image, "--image");
        if (settings.Mask is { } maskFile) PictureReader.CheckExists(maskFile, "--mask");
        var names = settings.Images.Select(Path.GetFileNameWithoutExtension).ToArray();
        if (names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new InputError($"--image: two pictures are named {twice.Key}, and their completions would share {CompletionFile(twice.Key!, 1, settings.Count)}; rename one.");
        string sheetName = $"completions-{(settings.Mask is { } maskPath ? Path.GetFileNameWithoutExtension(maskPath) : settings.Region.FileNamePart)}";
        var planned = PlannedFiles(names!, settings.Count, sheetName);
        OutputFiles.CheckFree(settings.Output, planned, settings.Force);

        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Data.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        if (settings.OrderIndex >= loaded.Orders.Count)
            throw new InputError($"--order-index {settings.OrderIndex}: the model has orders 0 to {loaded.Orders.Count - 1}.");
        var pictures = settings.Images.Select(image => PictureReader.Read(image, config, settings.Data.MaxImagePixels)).ToArray();
        var region = MissingPixels(settings, pictures, config, terminal);
        string quantization = PictureEncoding.Describe(loaded.Dataset.Encoding, config.Bits);
        foreach (var picture in pictures)
            terminal.Line($"image {picture.Path}: {picture.Fitting}{(quantization.Length > 0 ? $", {quantization}" : "")}");

        var sampler = settings.Sampler.Create(computing, terminal);
        var order = sampler.CompletionOrder(loaded.Orders[settings.OrderIndex], region);
        terminal.Line(OrderLine(model, region));
        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the pictures completed so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var written = Generate(settings, terminal, sampler, pictures, region, order, loaded.Dataset.Encoding, sheetName, interrupts.Token);

        string? orderName = model.SupportedOrders is null ? settings.Orders.Given ? settings.Orders.Name : null : "raster";
        var manifest = new RunManifest("complete", path, settings.Seed,
            new ManifestOrder(settings.OrderIndex, orderName, model.SupportedOrders is null), written);
        Directory.CreateDirectory(settings.Output);
        string manifestPath = Path.Combine(settings.Output, RunManifest.FileName(sheetName));
        manifest.Write(manifestPath);
        int completions = written.Count(f => f.Kind == ManifestFile.CompletedPicture);
        terminal.Line($"completions: {completions} of {pictures.Length * settings.Count} in {settings.Output} (files listed in {manifestPath}; "
            + $"sheets: context, completions, original; {clock.Elapsed.TotalSeconds:F1} s)");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }

    /// <summary>
    /// The line that says which pixels each missing pixel is conditioned on: all observed ones (a model that takes any
    /// order), or those before it in raster order (a raster-only model).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="region">The missing pixels.</param>
    public static string OrderLine(IAutoregressiveImageModel model, ImageRegion region)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(region);
        int pixels = region.Height * region.Width, missing = region.Pixels.Count;
        return model.SupportedOrders is null
            ? $"order: the model's order with the {missing} missing pixels moved last: each is drawn given all {pixels - missing} observed pixels"
            : $"order: raster (a {ModelCatalog.Get(model.Kind).Name} model cannot generate the missing pixels last: each is drawn given the pixels "
                + "before it in raster order)";
    }

    /// <summary>The missing pixels: the mask (of the pictures' size) fitted to the model, or the region.</summary>
    private static ImageRegion MissingPixels(CompleteSettings settings, IReadOnlyList<Picture> pictures, IImageModelConfig config, Terminal terminal)
    {
        int pixels = config.Height * config.Width;
        if (settings.Mask is not { } maskPath)
        {
            var area = settings.Region.For(config.Height, config.Width);
            if (area.Pixels.Count == pixels)
                throw new InputError($"--region {settings.Region.Spec}: covers every pixel, so nothing is observed and the completion would be a new sample; "
                    + "use lmconv sample, or a smaller region.");
            return area;
        }
        // The first picture's size is checked before the mask's levels; every other picture must have it too.
        var mask = MaskReader.Read(maskPath, config.Height, config.Width, ($"--image {pictures[0].Path}", pictures[0].Height, pictures[0].Width), settings.Data.MaxImagePixels);
        foreach (var picture in pictures)
            if (picture.Height != mask.Height || picture.Width != mask.Width)
                throw new InputError($"--mask {maskPath}: is {mask.Height}x{mask.Width} (HxW), but --image {picture.Path} is {picture.Height}x{picture.Width}; "
                    + $"the mask must have its size ({MaskReader.Rule}).");
        terminal.Line($"mask {maskPath}: {mask.Height}x{mask.Width}, {mask.Fitting}; {mask.Missing.Pixels.Count} of {pixels} pixels missing");
        return mask.Missing;
    }

    /// <summary>Generates every completion in batches, writing files as batches end; returns what was written.</summary>
    private static List<ManifestFile> Generate(CompleteSettings settings, Terminal terminal, ImageSampler sampler, IReadOnlyList<Picture> pictures,
        ImageRegion region, GenerationOrder order, InputEncoding encoding, string sheetName, CancellationToken stop)
    {
        var config = sampler.Model.Configuration;
        var shape = (config.ImageChannels, config.Height, config.Width);
        int count = settings.Count, total = pictures.Count * count, sheets = ImageBatches.SheetCount(pictures.Count, SheetRows);
        long pixels = region.Pixels.Count;
        var written = new List<ManifestFile>();
        var rows = new List<(Tensor Original, List<Tensor> Completions)>();
        int sheetsWritten = 0;
        void WriteSheet()
        {
            string sheet = ImageBatches.SheetPath(settings.Output, sheetName, sheetsWritten++, sheets);
            using (NewDisposeScope())
                PngWriter.Write(ImageSheets.PictureRows(rows.Select(r => (r.Original, (IReadOnlyList<Tensor>)r.Completions)).ToArray(), region), sheet, scale: 3);
            written.Add(new ManifestFile(Path.GetFileName(sheet), ManifestFile.Sheet, Images: rows.Count));
            foreach (var t in rows.SelectMany(r => r.Completions.Append(r.Original))) t.Dispose();
            rows.Clear();
        }
        int done = 0;
        terminal.WithProgress("completing", total * pixels, line =>
        {
            try
            {
                for (long batch = 0; done < total && !stop.IsCancellationRequested; batch++)
                {
                    int n = Math.Min(settings.BatchSize, total - done), before = done, steps = 0;
                    var options = new SamplingOptions
                    {
                        Seed = ImageBatches.SeedOf(settings.Seed, batch),
                        Temperature = settings.Temperature,
                        StepObserver = (_, _) =>
                        {
                            if (++steps < pixels) line.Report(BatchProgress.Done(before, n, steps, pixels), BatchProgress.During(before, n, total, steps, pixels));
                        },
                    };
                    using (var scope = NewDisposeScope())
                    {
                        var which = Enumerable.Range(before, n).Select(j => pictures[j / count].Planes).ToArray();
                        var originals = PictureEncoding.Encode(which, shape, encoding, config.Bits, sampler.Model.DType, sampler.Model.Device);
                        var completed = sampler.Complete(originals, region, order, options).cpu();
                        for (int r = 0; r < n; r++)
                        {
                            int j = before + r, picture = j / count, k = j % count;
                            string file = CompletionFile(pictures[picture].Name, k + 1, count);
                            PngWriter.Write(RgbImage.FromTensor(completed[r]), Path.Combine(settings.Output, file));
                            written.Add(new ManifestFile(file, ManifestFile.CompletedPicture, Source: pictures[picture].Path, Completion: k + 1));
                            if (k == 0) rows.Add((originals[r].cpu().clone().DetachFromDisposeScope(), new List<Tensor>()));
                            if (k < SheetCompletions) rows[^1].Completions.Add(completed[r].clone().DetachFromDisposeScope());
                            if (k == count - 1 && rows.Count == SheetRows) WriteSheet();
                        }
                    }
                    done += n;
                    line.Report(done * pixels, BatchProgress.After(done, total));
                }
                if (rows.Count > 0) WriteSheet();
            }
            finally
            {
                foreach (var t in rows.SelectMany(r => r.Completions.Append(r.Original))) t.Dispose();
            }
        });
        return written;
    }
}
