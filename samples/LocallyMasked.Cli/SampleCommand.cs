using System.CommandLine;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Sampling;

namespace LocallyMasked.Cli;

/// <summary>The `sample` command: draws whole images in one of the model's orders and writes a PNG grid.</summary>
public static class SampleCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    public static Command Create(CommonOptions common)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var count = new Option<int>("--count") { Description = "Images to draw.", DefaultValueFactory = _ => 16 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (1: the model's distribution).", DefaultValueFactory = _ => 1.0 };
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to generate in.", DefaultValueFactory = _ => 0 };
        var command = new Command("sample", "Sample images in any order and write them as a PNG grid.") { checkpoint, count, temperature, orderIndex };
        common.AddDataOptions(command);
        common.AddModelOptions(command);
        common.AddModelFileOptions(command);
        command.SetAction(result =>
        {
            var loaded = ModelSource.Load(result, common, result.GetValue(checkpoint)!);
            using var model = loaded.Model;
            int index = result.GetValue(orderIndex);
            if (index < 0 || index >= loaded.Orders.Count)
                throw new ArgumentException($"--order-index {index}: the model has orders 0..{loaded.Orders.Count - 1}.");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var images = common.SamplerOf(result, model).Sample(loaded.Orders[index], result.GetValue(count),
                common.SamplingOf(result, loaded.Orders[index].PixelCount, result.GetValue(temperature)));
            string path = Path.Combine(result.GetValue(common.Output)!, "samples.png");
            PngFile.Write(ImageSheets.Grid(images), path, scale: 3);
            Console.WriteLine($"\nsamples: {path} ({clock.Elapsed.TotalSeconds:F1} s)");
            return 0;
        });
        return command;
    }
}
