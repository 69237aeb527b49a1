using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Commands;

/// <summary>The `evaluate` command: test NLL per order and for the ensemble, and optionally of a region given the rest.</summary>
public static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="shared">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<EvaluateSettings> Create(SharedOptions shared, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(shared);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth (e.g. the authors').", Required = true };
        var images = new Option<int>("--images") { Description = "Evaluate the first N test images (0: all).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "a number of images (0: all)");
        var batch = new Option<int>("--batch-size") { Description = "Image x order pairs per network pass.", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "a batch size");
        var region = new Option<string?>("--region") { Description = "Also report the NLL of this region given the rest: top, bottom, left, right, centre or box:T,L,H,W." }
            .Accepting(RegionChoice.IsWellFormed, RegionChoice.Accepted);
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
        shared.AddDeviceOptions(command);
        shared.Data.AddTo(command);
        // The test split of a --data folder of images follows --seed and --test-fraction, as given to train.
        SharedOptions.Add(command, shared.Seed);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        return new ProgramCommand<EvaluateSettings>(command, result => new EvaluateSettings
        {
            Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!, result.GetValue(average)),
            Device = shared.DeviceOf(result),
            Data = shared.DataOf(result),
            Orders = shared.OrdersOf(result),
            Images = result.GetValue(images),
            BatchSize = result.GetValue(batch),
            Region = result.GetValue(region) is { } spec ? new RegionChoice(spec) : null,
            Workers = result.GetValue(workers),
        }, Run, terminal);
    }

    /// <summary>
    /// Loads the model and the test images, then prints the table of test likelihoods per order and for their ensemble
    /// and, with a region, the likelihood of the region given what the model conditions it on.
    /// </summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(EvaluateSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        string path = settings.Model.Checkpoint;
        Checks.ExistingFile(path, "--checkpoint");
        foreach (var other in settings.Model.Average) Checks.ExistingFile(other, "--average");
        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Data.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        var area = settings.Region?.For(config.Height, config.Width);
        var folder = DataSources.FolderOf(settings.Data, loaded.Dataset, terminal);
        var test = DataChecks.NotEmpty(DataSources.Read(settings.Data, loaded.Dataset, folder, train: false, terminal, config), "test");
        DataChecks.ImagesFitModel(test, config, path);
        int count = settings.Images > 0 ? Math.Min(settings.Images, test.Count) : test.Count;

        int shards = settings.Workers ?? DeviceSettings.DefaultWorkers(model.Device);
        using var evaluationWorkers = shards > 1 ? new EvaluationWorkers(shards) : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var report = EvaluationTable.Evaluate(terminal, computing, test, loaded.Dataset.Encoding, loaded.Orders, count, settings.BatchSize,
            evaluationWorkers is null ? null : evaluationWorkers.Wrap);
        EvaluationTable.Print(terminal, report, loaded.Dataset.ReportsBitsPerDimension, model.SupportedOrders is null ? null : new[] { "raster" });
        terminal.Line($"({clock.Elapsed.TotalSeconds:F1} s)");
        if (area is not null)
        {
            var regionReport = EvaluationTable.EvaluateRegion(terminal, settings.Region!.Spec, computing, test, loaded.Dataset.Encoding, area, loaded.Orders,
                count, settings.BatchSize);
            EvaluationTable.PrintRegion(terminal, regionReport, settings.Region.Spec, ModelCatalog.Get(model.Kind).Name);
        }
        return ExitCodes.Success;
    }
}
