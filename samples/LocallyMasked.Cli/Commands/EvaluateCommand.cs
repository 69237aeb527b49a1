using System.CommandLine;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Evaluation;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>The `evaluate` command: test NLL per order and for the ensemble, and optionally of a region given the rest.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static Command Create(CommonOptions common, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(common);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth (e.g. the authors').", Required = true };
        var images = new Option<int>("--images") { Description = "Evaluate the first N test images (0: all).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "a number of images (0: all)");
        var batch = new Option<int>("--batch-size") { Description = "Image x order pairs per network pass.", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "a batch size");
        var region = new Option<string?>("--region") { Description = "Also report the NLL of this region given the rest: top, bottom, left, right, centre or box:T,L,H,W." }
            .Accepting(RegionNames.IsWellFormed, RegionNames.Accepted);
        var average = new Option<string[]>("--average")
        {
            Description = "Further training checkpoints of the same model: evaluate the mean of their weights and --checkpoint's.",
            AllowMultipleArgumentsPerToken = true,
        };
        var workers = new Option<int?>("--workers")
        {
            Description = "Shards of each batch computed at once, each on its own thread with an equal share of --threads (default: 2 on the CPU with 2 or more threads, else 1). The result does not depend on it.",
        }.Accepting(v => v is null or >= 1, "a number of workers, at least 1");
        var command = new Command("evaluate", "Test negative log-likelihood for each order and for the ensemble of the orders.") { checkpoint, images, batch, region, average, workers };
        common.AddDeviceOptions(command);
        common.AddDataOptions(command);
        common.DataExtras.AddReadOptions(command);
        // The test split of a --data folder of images follows --seed and --test-fraction, as given to train.
        CommonOptions.Add(command, common.Seed);
        common.AddOrderOptions(command);
        common.AddModelFileOptions(command);
        command.SetAction(result =>
        {
            string path = result.GetValue(checkpoint)!;
            var others = result.GetValue(average) ?? Array.Empty<string>();
            Checks.ExistingFile(path, "--checkpoint");
            foreach (var other in others) Checks.ExistingFile(other, "--average");
            using var threads = common.ApplyThreads(result);
            var loaded = ModelSource.Load(result, common, path, others);
            using var model = loaded.Model;
            var config = model.Configuration;
            Checks.DataFitsModel(loaded.Kind, config, path);
            var area = result.GetValue(region) is { } spec ? Checks.Region(spec, config) : null;
            var test = Checks.NotEmpty(DataSources.Read(result, common, loaded.Kind, DataSources.FolderOf(result, common, loaded.Kind), train: false, config), "test");
            Checks.ImagesFitModel(test, config, path);
            var encoding = DataSources.Encoding(loaded.Kind);
            int count = result.GetValue(images) is > 0 and var n ? Math.Min(n, test.Count) : test.Count;
            int batchSize = result.GetValue(batch);

            int shards = result.GetValue(workers) ?? CommonOptions.DefaultWorkers(model.Device);
            using var evaluationWorkers = shards > 1 ? new EvaluationWorkers(shards) : null;

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = Evaluate(terminal, model, test, encoding, loaded.Orders, count, batchSize, evaluationWorkers is null ? null : evaluationWorkers.Wrap);
            Print(terminal, report, loaded.Kind != DatasetKind.BinarizedMnist, model.SupportedOrders is null ? null : new[] { "raster" });
            terminal.Line($"({clock.Elapsed.TotalSeconds:F1} s)");
            if (area is not null)
            {
                double total = terminal.WithProgress($"region {result.GetValue(region)}", count, line =>
                {
                    double sum = 0;
                    using var noGrad = no_grad();
                    for (int start = 0; start < count; start += 16)
                    {
                        using var scope = NewDisposeScope();
                        var indices = Enumerable.Range(start, Math.Min(16, count - start)).ToArray();
                        var x = Trainer.EncodeFixed(test, indices, encoding, model.Device, model.DType, config.Bits);
                        sum -= model.RegionLogLikelihood(x, area, loaded.Orders, batchSize).sum().ToDouble();
                        line.Report(start + indices.Length);
                    }
                    return sum;
                });
                terminal.Line(model.SupportedOrders is null
                    ? $"region {result.GetValue(region)} ({area.Pixels.Count} pixels) given the rest, ensemble of {loaded.Orders.Count}: {total / count:F3} nats per image"
                    // pixelcnn++ cannot generate the region last: each region pixel sees only the pixels before it in raster order.
                    : $"region {result.GetValue(region)} ({area.Pixels.Count} pixels) given the pixels before it in raster order (a {CommonOptions.NameOf(model.Kind)} model "
                      + $"cannot condition on the pixels after it): {total / count:F3} nats per image");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Evaluates with a progress indicator (plain lines with the time left when the output is redirected).</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="model">The model.</param>
    /// <param name="test">The test images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="count">How many images (at most the test set's size).</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    /// <param name="computeWith">How each batch is computed (a trainer's <c>OnWorkers</c>), or null: on this thread.</param>
    public static EvaluationReport Evaluate(Terminal terminal, Models.IAutoregressiveImageModel model, Training.Data.ImageDataset test,
        InputEncoding encoding, IReadOnlyList<GenerationOrder> orders, int count, int batchSize,
        Func<PerOrderLogLikelihoods, PerOrderLogLikelihoods>? computeWith = null)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        return terminal.WithProgress($"evaluating {orders.Count} orders", count, line =>
            LikelihoodEvaluation.Evaluate(model, test, encoding, orders, count, batchSize, new Reporter(line), computeWith));
    }

    /// <summary>
    /// Prints a report as a table, in nats per image and, for 8-bit data, bits per dimension: a row per order and one for
    /// their ensemble; with one order (a pixelcnn++ model's raster order), its row only.
    /// </summary>
    /// <param name="terminal">Where to print.</param>
    /// <param name="report">The report.</param>
    /// <param name="bitsPerDimension">Whether to add bits per dimension.</param>
    /// <param name="orderNames">The orders' names, or null for their variant numbers (0 (Identity), 1 (ReflectRows), ...).</param>
    public static void Print(Terminal terminal, EvaluationReport report, bool bitsPerDimension, IReadOnlyList<string>? orderNames = null)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(report);
        var table = new Table().AddColumn("order").AddColumn(new TableColumn("nats per image").RightAligned());
        if (bitsPerDimension) table.AddColumn(new TableColumn("bits per dim").RightAligned());
        bool one = report.PerOrder.Count == 1;
        table.Title = new TableTitle($"test NLL on {report.Images} images");
        void Row(string name, double nats)
        {
            var cells = new List<string> { name, $"{nats:F3}" };
            if (bitsPerDimension) cells.Add($"{report.BitsPerDimension(nats):F4}");
            table.AddRow(cells.Select(c => new Text(c)).ToArray());
        }
        for (int i = 0; i < report.PerOrder.Count; i++)
            Row(orderNames is not null && i < orderNames.Count ? orderNames[i] : $"{i} ({(OrderSymmetry)i})", report.PerOrder[i]);
        if (!one) Row($"ensemble of {report.PerOrder.Count}", report.Ensemble);
        terminal.Write(table);
    }

    /// <summary>Forwards image counts to a progress line, synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Reporter(Terminal.ProgressLine line) : IProgress<int>
    {
        public void Report(int value) => line.Report(value);
    }
}
