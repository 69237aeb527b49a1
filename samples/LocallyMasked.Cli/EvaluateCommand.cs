using System.CommandLine;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>The `evaluate` command: test NLL per order and for the ensemble, and optionally of a region given the rest.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    public static Command Create(CommonOptions common)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth (e.g. the authors').", Required = true };
        var images = new Option<int>("--images") { Description = "Evaluate the first N test images (0: all).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Image x order pairs per network pass.", DefaultValueFactory = _ => 64 };
        var region = new Option<string?>("--region") { Description = "Also report the NLL of this region given the rest: top, bottom, left, right, centre or box:T,L,H,W." };
        var average = new Option<string[]>("--average")
        {
            Description = "Further training checkpoints of the same model: evaluate the mean of their weights and --checkpoint's.",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("evaluate", "Test negative log-likelihood for each order and for the ensemble of the orders.") { checkpoint, images, batch, region, average };
        common.AddDataOptions(command);
        common.DataExtras.AddReadOptions(command);
        common.AddModelOptions(command);
        command.SetAction(result =>
        {
            var loaded = ModelSource.Load(result, common, result.GetValue(checkpoint)!, result.GetValue(average));
            using var model = loaded.Model;
            var test = DataSources.Read(result, common, loaded.Kind, DataSources.FolderOf(result, common, loaded.Kind), train: false, model.Config);
            var encoding = DataSources.Encoding(loaded.Kind);
            int count = result.GetValue(images);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = LikelihoodEvaluation.Evaluate(model, test, encoding, loaded.Orders, count, result.GetValue(batch),
                new ImagesProgress(count <= 0 ? test.Count : Math.Min(count, test.Count)));
            Console.WriteLine();
            Print(report, loaded.Kind != DatasetKind.BinarizedMnist);
            Console.WriteLine($"({clock.Elapsed.TotalSeconds:F1} s)");
            if (result.GetValue(region) is { } spec)
            {
                var area = RegionNames.Parse(spec, model.Config.Height, model.Config.Width);
                double total = 0;
                int n = report.Images;
                using (no_grad())
                    for (int start = 0; start < n; start += 16)
                    {
                        using var scope = NewDisposeScope();
                        var indices = Enumerable.Range(start, Math.Min(16, n - start)).ToArray();
                        var x = Trainer.EncodeFixed(test, indices, encoding, model.Device, model.DType, model.Config.Bits);
                        total -= model.RegionLogLikelihood(x, area, loaded.Orders, result.GetValue(batch)).sum().ToDouble();
                    }
                Console.WriteLine($"region {spec} ({area.Pixels.Count} pixels) given the rest, ensemble of {loaded.Orders.Count}: {total / n:F3} nats per image");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Prints a report as a table, in nats per image and, for 8-bit data, bits per dimension.</summary>
    /// <param name="report">The report.</param>
    /// <param name="bitsPerDimension">Whether to add bits per dimension.</param>
    public static void Print(EvaluationReport report, bool bitsPerDimension)
    {
        ArgumentNullException.ThrowIfNull(report);
        string Format(double nats) => bitsPerDimension ? $"{nats,10:F3} nats  {report.BitsPerDimension(nats):F4} bpd" : $"{nats,10:F3} nats";
        Console.WriteLine($"test NLL on {report.Images} images:");
        for (int i = 0; i < report.PerOrder.Count; i++)
            Console.WriteLine($"  order {i} ({(OrderSymmetry)i,-24}) {Format(report.PerOrder[i])}");
        Console.WriteLine($"  ensemble of {report.PerOrder.Count,-20} {Format(report.Ensemble)}");
    }

    private sealed class ImagesProgress(int total) : IProgress<int>
    {
        public void Report(int value)
        {
            if (!Console.IsOutputRedirected) Console.Write($"\revaluating {value}/{total}");
        }
    }
}
