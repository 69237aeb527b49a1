using System.CommandLine;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>The `complete` command: fills a region of test images, generated last, with the rest observed.</summary>
public static class CompleteCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    public static Command Create(CommonOptions common)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var region = new Option<string>("--region") { Description = "top, bottom, left, right, centre or box:TOP,LEFT,HEIGHT,WIDTH.", DefaultValueFactory = _ => "bottom" };
        var count = new Option<int>("--count") { Description = "How many test images to complete.", DefaultValueFactory = _ => 8 };
        var first = new Option<int>("--first") { Description = "Index of the first test image.", DefaultValueFactory = _ => 0 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 1.0 };
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to use (the region is moved to its end).", DefaultValueFactory = _ => 0 };
        var command = new Command("complete", "Complete a region of test images; writes rows of context, completion and original.")
        {
            checkpoint, region, count, first, temperature, orderIndex,
        };
        common.AddDataOptions(command);
        common.DataExtras.AddReadOptions(command);
        common.AddModelOptions(command);
        command.SetAction(result =>
        {
            var loaded = ModelSource.Load(result, common, result.GetValue(checkpoint)!);
            using var model = loaded.Model;
            var test = DataSources.Read(result, common, loaded.Kind, DataSources.FolderOf(result, common, loaded.Kind), train: false, model.Config);
            int start = result.GetValue(first), n = result.GetValue(count), index = result.GetValue(orderIndex);
            if (start < 0 || n <= 0 || start + n > test.Count)
                throw new ArgumentException($"--first {start} --count {n}: the test set has {test.Count} images.");
            if (index < 0 || index >= loaded.Orders.Count)
                throw new ArgumentException($"--order-index {index}: the model has orders 0..{loaded.Orders.Count - 1}.");
            var area = RegionNames.Parse(result.GetValue(region)!, model.Config.Height, model.Config.Width);
            using var scope = NewDisposeScope();
            var originals = Trainer.EncodeFixed(test, Enumerable.Range(start, n).ToArray(), DataSources.Encoding(loaded.Kind), model.Device, model.DType, model.Config.Bits);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var completed = common.SamplerOf(result, model).Complete(originals, area, loaded.Orders[index].WithRegionLast(area.Pixels),
                common.SamplingOf(result, area.Pixels.Count, result.GetValue(temperature)));
            string path = Path.Combine(result.GetValue(common.Output)!, $"completions-{result.GetValue(region)!.Replace(':', '-').Replace(',', '-')}.png");
            PngFile.Write(ImageSheets.Completions(completed, originals, area), path, scale: 3);
            completed.Dispose();
            Console.WriteLine($"\ncompletions: {path} (rows: context, completion, original; {clock.Elapsed.TotalSeconds:F1} s)");
            return 0;
        });
        return command;
    }
}
