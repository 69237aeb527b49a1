using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
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
        var count = new Option<int>("--count") { Description = $"How many test images to complete; written as sheets of at most {ImageBatches.CompletionsPerSheet}.", DefaultValueFactory = _ => 8 }
            .AtLeast(1, "a number of images");
        var batch = new Option<int>("--batch-size") { Description = "Images completed together (memory grows with it, not with --count).", DefaultValueFactory = _ => 32 }
            .AtLeast(1, "a batch size");
        var first = new Option<int>("--first") { Description = "Index of the first test image.", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an image index");
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1.0 }
            .Finite(v => v > 0, "a positive temperature");
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to use (the region is moved to its end).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an order index");
        var command = new Command("complete", "Complete a region of test images; writes rows of context, completion and original.")
        {
            checkpoint, region, count, batch, first, temperature, orderIndex,
        };
        shared.AddDeviceOptions(command);
        shared.Data.AddTo(command);
        SharedOptions.Add(command, shared.Output);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        shared.AddSamplingOptions(command);
        return new ProgramCommand<CompleteSettings>(command, result => new CompleteSettings
        {
            Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!),
            Device = shared.DeviceOf(result),
            Data = shared.DataOf(result),
            Orders = shared.OrdersOf(result),
            OrderIndex = result.GetValue(orderIndex),
            Region = new RegionChoice(result.GetValue(region)!),
            First = result.GetValue(first),
            Count = result.GetValue(count),
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
        string path = settings.Model.Checkpoint;
        Checks.ExistingFile(path, "--checkpoint");
        Checks.WritableFolder(settings.Output, "--output");
        // Under mpiexec the ranks split the images (CompleteParts).
        if (CompleteParts.Applies) return CompleteParts.Run(settings, terminal);
        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Data.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        var area = settings.Region.For(config.Height, config.Width);
        if (settings.OrderIndex >= loaded.Orders.Count)
            throw new InputError($"--order-index {settings.OrderIndex}: the model has orders 0 to {loaded.Orders.Count - 1}.");
        var folder = DataSources.FolderOf(settings.Data, loaded.Dataset, terminal);
        var test = DataChecks.NotEmpty(DataSources.Read(settings.Data, loaded.Dataset, folder, train: false, terminal, config), "test");
        DataChecks.ImagesFitModel(test, config, path);
        if (settings.First + (long)settings.Count > test.Count)
            throw new InputError($"--first {settings.First} --count {settings.Count}: the test set has {test.Count} images (indices 0 to {test.Count - 1}).");

        var order = loaded.Orders[settings.OrderIndex];
        if (model.SupportedOrders is null) order = order.WithRegionLast(area.Pixels);
        else terminal.Line($"order: raster (a {ModelCatalog.Get(model.Kind).Name} model cannot generate the region last: each region pixel is drawn given the pixels before it in raster order)");
        var sampler = settings.Sampler.Create(computing, terminal);
        var encoding = loaded.Dataset.Encoding;
        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images completed so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (sheets, done) = ImageBatches.Complete(terminal, sampler,
            indices => Trainer.EncodeFixed(test, indices, encoding, model.Device, model.DType, config.Bits),
            area, order, settings.First, settings.Count, settings.BatchSize, settings.Seed, settings.Temperature, settings.Output,
            $"completions-{settings.Region.FileNamePart}", interrupts.Token);
        terminal.Line($"completions: {done} images in {string.Join(", ", sheets)} (rows: context, completion, original; {clock.Elapsed.TotalSeconds:F1} s)");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }
}
