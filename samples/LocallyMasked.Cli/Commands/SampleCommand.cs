using System.CommandLine;

namespace LocallyMasked.Cli;

/// <summary>The `sample` command: draws whole images in one of the model's orders and writes PNG sheets.</summary>
public static class SampleCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static Command Create(CommonOptions common, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(common);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var count = new Option<int>("--count") { Description = $"Images to draw; written as sheets of at most {ImageBatches.SamplesPerSheet} as they are finished.", DefaultValueFactory = _ => 16 }
            .AtLeast(1, "a number of images");
        var batch = new Option<int>("--batch-size") { Description = "Images generated together (memory grows with it, not with --count).", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "a batch size");
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (1: the model's distribution).", DefaultValueFactory = _ => 1.0 }
            .Finite(v => v > 0, "a positive temperature");
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to generate in.", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an order index");
        var command = new Command("sample", "Sample images in any order and write them as PNG sheets.") { checkpoint, count, batch, temperature, orderIndex };
        common.AddDeviceOptions(command);
        CommonOptions.Add(command, common.Dataset, common.Output);
        common.AddOrderOptions(command);
        common.AddModelFileOptions(command);
        common.AddSamplingOptions(command);
        command.SetAction(result =>
        {
            string path = result.GetValue(checkpoint)!, output = result.GetValue(common.Output)!;
            Checks.ExistingFile(path, "--checkpoint");
            Checks.WritableFolder(output, "--output");
            using var threads = common.ApplyThreads(result);
            var loaded = ModelSource.Load(result, common, path);
            using var model = loaded.Model;
            Checks.DataFitsModel(loaded.Kind, model.Configuration, path);
            int index = result.GetValue(orderIndex);
            if (index >= loaded.Orders.Count)
                throw new InputError($"--order-index {index}: the model has orders 0 to {loaded.Orders.Count - 1}.");
            using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images drawn so far");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (sheets, drawn) = ImageBatches.Sample(terminal, common.SamplerOf(result, model, terminal), loaded.Orders[index], result.GetValue(count),
                result.GetValue(batch), result.GetValue(common.Seed), result.GetValue(temperature), output, "samples", interrupts.Token);
            terminal.Line($"samples: {drawn} images in {string.Join(", ", sheets)} ({clock.Elapsed.TotalSeconds:F1} s)");
            return interrupts.ExitCode ?? ExitCodes.Success;
        });
        return command;
    }
}
