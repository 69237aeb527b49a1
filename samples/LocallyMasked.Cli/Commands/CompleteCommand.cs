using System.CommandLine;
using LocallyMasked.Training;

namespace LocallyMasked.Cli;

/// <summary>The `complete` command: fills a region of test images, generated last, with the rest observed.</summary>
public static class CompleteCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static Command Create(CommonOptions common, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(common);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var region = new Option<string>("--region") { Description = "top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH.", DefaultValueFactory = _ => "bottom" }
            .Accepting(RegionNames.IsWellFormed, RegionNames.Accepted);
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
        common.AddDeviceOptions(command);
        common.AddDataOptions(command);
        common.DataExtras.AddReadOptions(command);
        CommonOptions.Add(command, common.Output);
        common.AddOrderOptions(command);
        common.AddModelFileOptions(command);
        common.AddSamplingOptions(command);
        command.SetAction(result =>
        {
            string path = result.GetValue(checkpoint)!, output = result.GetValue(common.Output)!, spec = result.GetValue(region)!;
            Checks.ExistingFile(path, "--checkpoint");
            Checks.WritableFolder(output, "--output");
            using var threads = common.ApplyThreads(result);
            var loaded = ModelSource.Load(result, common, path);
            using var model = loaded.Model;
            var config = model.Configuration;
            Checks.DataFitsModel(loaded.Kind, config, path);
            var area = Checks.Region(spec, config);
            int start = result.GetValue(first), n = result.GetValue(count), index = result.GetValue(orderIndex);
            if (index >= loaded.Orders.Count)
                throw new InputError($"--order-index {index}: the model has orders 0 to {loaded.Orders.Count - 1}.");
            var test = Checks.NotEmpty(DataSources.Read(result, common, loaded.Kind, DataSources.FolderOf(result, common, loaded.Kind), train: false, config), "test");
            Checks.ImagesFitModel(test, config, path);
            if (start + (long)n > test.Count)
                throw new InputError($"--first {start} --count {n}: the test set has {test.Count} images (indices 0 to {test.Count - 1}).");
            var encoding = DataSources.Encoding(loaded.Kind);

            // An lmconv model generates the region last, seeing every other pixel; pixelcnn++ has only the raster order, so the
            // region is generated in raster order given the pixels before it (the observed pixels after it are not seen).
            var order = model.SupportedOrders is null ? loaded.Orders[index].WithRegionLast(area.Pixels) : loaded.Orders[index];
            if (model.SupportedOrders is not null)
                terminal.Line($"order: raster (a {CommonOptions.NameOf(model.Kind)} model cannot generate the region last: each region pixel is drawn given the pixels before it in raster order)");
            var sampler = common.SamplerOf(result, model, terminal);
            using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images completed so far");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (sheets, done) = ImageBatches.Complete(terminal, sampler,
                indices => Trainer.EncodeFixed(test, indices, encoding, model.Device, model.DType, config.Bits),
                area, order, start, n, result.GetValue(batch), result.GetValue(common.Seed),
                result.GetValue(temperature), output, $"completions-{spec.Replace(':', '-').Replace(',', '-')}", interrupts.Token);
            terminal.Line($"completions: {done} images in {string.Join(", ", sheets)} (rows: context, completion, original; {clock.Elapsed.TotalSeconds:F1} s)");
            return interrupts.ExitCode ?? ExitCodes.Success;
        });
        return command;
    }
}
