using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Cli.Results;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The `evaluate` command: test NLL per order and for the ensemble, and optionally of a region given the rest; as a table
/// for people and, for programs, as JSON (<c>--json</c>) and a CSV row per image (<c>--per-image</c>). Its images can be
/// split over the processes of a job array (<c>--shard I/N</c>, parts put together by <c>merge</c>) or over the ranks of
/// an MPI job (<c>mpiexec -n N</c>).
/// </summary>
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
        }.Accepting(v => v is null or (>= 1 and <= DeviceSettings.MaxThreads), $"a number of workers from 1 to {DeviceSettings.MaxThreads}");
        var json = new Option<string?>("--json") { Description = "Also write every figure as JSON to this file (docs/evaluation-results.md), or to standard output with - (the table then goes to standard error)." };
        var perImage = new Option<string?>("--per-image") { Description = "Also write one CSV row per test image (nats and bits per dimension per order and for the ensemble) to this file, or - for standard output." };
        var shard = ShardOption.Create("Evaluate part I of N of the images (I from 0: 0/2 and 1/2), for a job array; auto takes I (and N) from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (then auto/N). Needs --json; put the parts together with lmconv merge.");
        var command = new Command("evaluate", "Test negative log-likelihood for each order and for the ensemble of the orders.")
        {
            checkpoint, images, batch, region, average, workers, json, perImage, shard,
        };
        shared.AddDeviceOptions(command);
        shared.Data.AddTo(command);
        // The test split of a --data folder of images follows --seed and --test-fraction, as given to train.
        SharedOptions.Add(command, shared.Seed);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        return new ProgramCommand<EvaluateSettings>(command, result =>
        {
            var settings = new EvaluateSettings
            {
                Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!, result.GetValue(average)),
                Device = shared.DeviceOf(result),
                Data = shared.DataOf(result),
                Orders = shared.OrdersOf(result),
                Images = result.GetValue(images),
                BatchSize = result.GetValue(batch),
                Region = result.GetValue(region) is { } spec ? new RegionChoice(spec) : null,
                Workers = result.GetValue(workers),
                Seed = result.GetValue(shared.Seed),
                Json = result.GetValue(json),
                PerImage = result.GetValue(perImage),
                Shard = ShardOption.Of(result, shard),
            };
            if (settings.Shard.Given && settings.Json is null or ResultFiles.StandardOutput)
                throw new InputError("--shard: a part's figures are put together by lmconv merge from its JSON file; add --json part-I.json.");
            if (settings.Json == ResultFiles.StandardOutput && settings.PerImage == ResultFiles.StandardOutput)
                throw new InputError("--json - and --per-image -: only one of them can go to standard output; name a file for the other.");
            return settings;
        }, Run, terminal);
    }

    /// <summary>
    /// Loads the model and the test images (this process's part of them with --shard or under mpiexec), then prints the
    /// table of test likelihoods per order and for their ensemble and, with a region, the likelihood of the region given
    /// what the model conditions it on; writes the JSON and CSV files asked for.
    /// </summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(EvaluateSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        Checks.ExistingFile(settings.Model.Checkpoint, "--checkpoint");
        foreach (var other in settings.Model.Average) Checks.ExistingFile(other, "--average");
        ResultFiles.CheckWritable(settings.Json, "--json");
        ResultFiles.CheckWritable(settings.PerImage, "--per-image");
        if (settings.Shard.Given && MpiLaunch.FromEnvironment().IsLaunched)
            throw new InputError("--shard: this process was started by an MPI launcher, whose ranks split the images themselves; leave --shard out, or run without mpiexec.");
        var shard = settings.Shard.Resolve(Environment.GetEnvironmentVariable);
        // With --json - (or --per-image -) standard output carries the result alone: everything for people goes to standard error.
        var human = settings.Json == ResultFiles.StandardOutput || settings.PerImage == ResultFiles.StandardOutput ? terminal.OnStandardError() : terminal;
        using var group = RankGroup.Join();
        return group.Run(human, t => Evaluate(settings, group.IsDistributed ? group.Shard : shard, group, t, terminal.Out));
    }

    private static int Evaluate(EvaluateSettings settings, Shard shard, RankGroup group, Terminal terminal, TextWriter standardOutput)
    {
        string path = settings.Model.Checkpoint;
        using var threads = settings.Device.ApplyThreads();
        // A --data folder that is not there is named before the model is loaded.
        if (!settings.Data.Download && settings.Data.Folder is { } given) Checks.ExistingFolder(given, "--data");
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
        var orders = loaded.Orders;
        var encoding = loaded.Dataset.Encoding;
        var (report, regionReport, range, elapsed) = EvaluationRun.Run(terminal, group, shard, computing, test, encoding, orders, count, settings.BatchSize,
            settings.Workers, area is null ? null : (settings.Region!, area));

        var names = ResultDescriptions.OrderNames(model, orders.Count);
        if (!shard.IsWhole && !group.IsDistributed) terminal.Line($"part {shard} of the evaluation (put the parts together with lmconv merge):");
        EvaluationTable.Print(terminal, report, loaded.Dataset.ReportsBitsPerDimension, names);
        terminal.Line($"({elapsed.TotalSeconds:F1} s)");
        if (regionReport is not null) EvaluationTable.PrintRegion(terminal, regionReport, settings.Region!.Spec, ModelCatalog.Get(model.Kind).Name);
        if (!group.IsRoot || (settings.Json is null && settings.PerImage is null)) return ExitCodes.Success;

        var result = EvaluationResult.Create(report, orders, names, ResultDescriptions.Model(settings.Model, loaded, computing.Precision),
            ResultDescriptions.Data(loaded.Dataset.Name, folder ?? "embedded digits", "test", test, count, encoding, config.Bits),
            settings.Seed, settings.BatchSize, regionReport, settings.Region?.Spec,
            shard.IsWhole || group.IsDistributed ? null : new ResultShard { Index = shard.Index, Count = shard.Count, First = range.Start, Total = count },
            program: ResultFiles.Program);
        if (settings.Json is { } jsonPath)
        {
            ResultFiles.Write(jsonPath, result.ToJson(), standardOutput, "--json");
            if (jsonPath != ResultFiles.StandardOutput) terminal.Line($"results: {jsonPath}");
        }
        if (settings.PerImage is { } csvPath)
        {
            ResultFiles.Write(csvPath, PerImageCsv.Format(result), standardOutput, "--per-image");
            if (csvPath != ResultFiles.StandardOutput) terminal.Line($"per-image figures: {csvPath}");
        }
        return ExitCodes.Success;
    }
}
