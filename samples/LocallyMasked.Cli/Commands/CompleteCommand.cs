using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Outputs;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Training;

namespace LocallyMasked.Cli.Commands;

/// <summary>The `complete` command: fills a region of test images, generated last, with the rest observed.</summary>
public static class CompleteCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="shared">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<CompleteSettings> Create(SharedOptions shared, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(shared);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var region = new Option<string>("--region") { Description = "top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH.", DefaultValueFactory = _ => "bottom" }
            .Accepting(RegionChoice.IsWellFormed, RegionChoice.Accepted);
        var count = new Option<int>("--count")
            {
                Description = $"How many test images to complete, written as sheets of at most {ImageBatches.CompletionsPerSheet}; with --image, how many "
                    + "completions of each picture (default 1).",
                DefaultValueFactory = _ => 8,
            }
            .AtLeast(1, "a number of images");
        var batch = new Option<int>("--batch-size") { Description = "Images completed together (memory grows with it, not with --count).", DefaultValueFactory = _ => 32 }
            .AtLeast(1, "a batch size");
        var first = new Option<int>("--first") { Description = "Index of the first test image.", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an image index");
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1.0 }
            .Finite(v => v > 0, "a positive temperature");
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to use (the region is moved to its end).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an order index");
        var pictures = new PictureOptions();
        var command = new Command("complete", "Complete a region of test images, or of your own pictures (--image, --mask); writes rows of context, completion and original.")
        {
            checkpoint, region, count, batch, first, temperature, orderIndex,
        };
        shared.AddDeviceOptions(command);
        shared.Data.AddTo(command);
        SharedOptions.Add(command, shared.Output, shared.Force);
        pictures.AddTo(command);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        shared.AddSamplingOptions(command);
        var testImageOptions = new Option[] { shared.Data.Data, shared.Data.Download, shared.Data.Mirror, shared.Data.Size, shared.Data.Channels,
            shared.Data.TestFraction, first };
        return new ProgramCommand<CompleteSettings>(command, result => new CompleteSettings
        {
            Images = pictures.ImagesOf(result, testImageOptions),
            Mask = pictures.MaskOf(result, region),
            Force = result.GetValue(shared.Force),
            Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!),
            Device = shared.DeviceOf(result),
            Data = shared.DataOf(result),
            Orders = shared.OrdersOf(result),
            OrderIndex = result.GetValue(orderIndex),
            Region = new RegionChoice(result.GetValue(region)!),
            First = result.GetValue(first),
            Count = result.GetValue(pictures.Image) is { Length: > 0 } && !result.Given(count) ? 1 : result.GetValue(count),
            BatchSize = result.GetValue(batch),
            Temperature = result.GetValue(temperature),
            Sampler = shared.SamplerOf(result),
            Seed = result.GetValue(shared.Seed),
            Output = result.GetValue(shared.Output)!,
        }, Run, terminal);
    }

    /// <summary>
    /// Loads the model and the test images, then completes the region in batches: a model that takes any order
    /// generates it last, seeing every other pixel; a raster-only model generates it in raster order given the pixels
    /// before it (it says so).
    /// </summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(CompleteSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        if (settings.Images.Count > 0) return PictureCompletion.Run(settings, terminal);
        string path = settings.Model.Checkpoint;
        Checks.ExistingFile(path, "--checkpoint");
        Checks.WritableFolder(settings.Output, "--output");
        // Under mpiexec the ranks split the images (CompleteParts).
        if (CompleteParts.Applies) return CompleteParts.Run(settings, terminal);
        string name = SheetName(settings);
        string manifest = RunManifest.FileName(name);
        CheckOutputs(settings, name);
        using var threads = settings.Device.ApplyThreads();
        // A --data folder that is not there is named before the model is loaded.
        if (!settings.Data.Download && settings.Data.Folder is { } given) Checks.ExistingFolder(given, "--data");
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Data.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var (config, area, test, sampler, order, encoding) = TestImageCompletion.Prepare(settings, loaded, terminal);
        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images completed so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (sheets, done) = ImageBatches.Complete(terminal, sampler,
            indices => Trainer.EncodeFixed(test, indices, encoding, model.Device, model.DType, config.Bits),
            area, order, settings.First, settings.Count, settings.BatchSize, settings.Seed, settings.Temperature, settings.Output,
            name, interrupts.Token);
        WriteManifest(settings, model, sheets, done, manifest);
        terminal.Line($"completions: {done} images in {string.Join(", ", sheets)} (rows: context, completion, original; files listed in "
            + $"{Path.Combine(settings.Output, manifest)}; {clock.Elapsed.TotalSeconds:F1} s)");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }

    /// <summary>The base name of the sheets and the manifest of test-image completions: completions-REGION or completions-MASKNAME.</summary>
    /// <param name="settings">The settings.</param>
    public static string SheetName(CompleteSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return $"completions-{(settings.Mask is { } maskPath ? Path.GetFileNameWithoutExtension(maskPath) : settings.Region.FileNamePart)}";
    }

    /// <summary>Stops before any work, in one line, when a sheet of the run or its manifest is in the output folder already, unless --force.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="name">The sheets' base name.</param>
    public static void CheckOutputs(CompleteSettings settings, string name)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int sheets = ImageBatches.SheetCount(settings.Count, ImageBatches.CompletionsPerSheet);
        string manifest = RunManifest.FileName(name);
        OutputFiles.CheckFree(settings.Output, file => file == manifest || ImageBatches.IsSheetName(file, name, sheets), settings.Force);
    }

    /// <summary>Writes the manifest of test-image completion sheets.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="model">The model that completed them.</param>
    /// <param name="sheets">The sheets written, in order.</param>
    /// <param name="images">The images completed on them.</param>
    /// <param name="manifest">The manifest's file name.</param>
    public static void WriteManifest(CompleteSettings settings, IAutoregressiveImageModel model, IReadOnlyList<string> sheets, int images, string manifest)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(model);
        string? orderName = model.SupportedOrders is null ? settings.Orders.Given ? settings.Orders.Name : null : "raster";
        var written = new RunManifest("complete", settings.Model.Checkpoint, settings.Seed, new ManifestOrder(settings.OrderIndex, orderName, model.SupportedOrders is null),
            ManifestFile.Sheets(sheets, images, ImageBatches.CompletionsPerSheet, settings.First));
        Directory.CreateDirectory(settings.Output);
        written.Write(Path.Combine(settings.Output, manifest));
    }

    /// <summary>A --mask for test images: of the model's size, read as <see cref="MaskReader"/> reads masks.</summary>
    /// <param name="path">The --mask file.</param>
    /// <param name="config">The model's configuration.</param>
    /// <param name="maxPixels">The most pixels the mask's header may claim (--max-image-pixels).</param>
    public static LocallyMasked.Orders.ImageRegion TestImageMask(string path, IImageModelConfig config, long maxPixels = ImageFolderOptions.DefaultMaxImagePixels)
    {
        ArgumentNullException.ThrowIfNull(config);
        return MaskReader.Read(path, config.Height, config.Width, ("the test images' size", config.Height, config.Width), maxPixels).Missing;
    }
}
