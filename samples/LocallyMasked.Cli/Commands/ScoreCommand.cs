using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Cli.Results;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;
using Spectre.Console;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The `score` command: every image's negative log-likelihood in bits per dimension (and nats) under a model, for any
/// image files: the classic way to rank images by how typical they are to the model, or to flag out-of-distribution
/// inputs (the least likely first with <c>--sort descending</c>).
/// </summary>
public static class ScoreCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="shared">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<ScoreSettings> Create(SharedOptions shared, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(shared);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var data = new Option<string[]>("--data")
        {
            Description = "Image files (PNG, JPEG, BMP) and folders of them (searched recursively). Images of another size than the model's are cropped centrally and resized; colour images for a grey model become grey, grey ones for an RGB model get their value in each channel (a line says how many).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var batch = new Option<int>("--batch-size") { Description = "Image x order pairs per network pass.", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "a batch size");
        var workers = new Option<int?>("--workers") { Description = "Shards of each batch computed at once (as evaluate's)." }
            .Accepting(v => v is null or (>= 1 and <= DeviceSettings.MaxThreads), $"a number of workers from 1 to {DeviceSettings.MaxThreads}");
        var sort = new Option<string>("--sort") { Description = "none (as named), ascending (most typical first) or descending (least typical first: out-of-distribution candidates), by the ensemble's bits per dimension.", DefaultValueFactory = _ => "none" };
        sort.AcceptOnlyFromAmong("none", "ascending", "descending");
        var csv = new Option<string?>("--csv") { Description = "Write one CSV row per image (the columns of evaluate --per-image, with the file) to this file, or - for standard output (the table then goes to standard error)." };
        var json = new Option<string?>("--json") { Description = "Write the result as JSON (the schema of evaluate --json, with each image's file) to this file, or - for standard output." };
        var command = new Command("score", "Bits per dimension of every image under a model: rank images by how typical they are, flag out-of-distribution inputs.")
        {
            checkpoint, data, batch, workers, sort, csv, json,
        };
        shared.AddDeviceOptions(command);
        SharedOptions.Add(command, shared.Data.Dataset, shared.Data.MaxImagePixels);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        return new ProgramCommand<ScoreSettings>(command, result =>
        {
            var settings = new ScoreSettings
            {
                Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!),
                Device = shared.DeviceOf(result),
                Dataset = result.Given(shared.Data.Dataset) ? Datasets.Named(result.GetValue(shared.Data.Dataset)!) : null,
                Orders = shared.OrdersOf(result),
                Inputs = result.GetValue(data)!,
                BatchSize = result.GetValue(batch),
                Workers = result.GetValue(workers),
                Sort = Enum.Parse<ScoreSort>(result.GetValue(sort)!, ignoreCase: true),
                Csv = result.GetValue(csv),
                Json = result.GetValue(json),
                MaxImagePixels = result.GetValue(shared.Data.MaxImagePixels),
            };
            if (settings.Csv == ResultFiles.StandardOutput && settings.Json == ResultFiles.StandardOutput)
                throw new InputError("--csv - and --json -: only one of them can go to standard output; name a file for the other.");
            return settings;
        }, Run, terminal);
    }

    /// <summary>Loads the model and the images, scores every image and lists them.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(ScoreSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        Checks.ExistingFile(settings.Model.Checkpoint, "--checkpoint");
        ResultFiles.CheckWritable(settings.Csv, "--csv");
        ResultFiles.CheckWritable(settings.Json, "--json");
        var human = settings.Csv == ResultFiles.StandardOutput || settings.Json == ResultFiles.StandardOutput ? terminal.OnStandardError() : terminal;
        using var group = RankGroup.Join();
        return group.Run(human, t => Score(settings, group, t, terminal.Out));
    }

    private static int Score(ScoreSettings settings, RankGroup group, Terminal terminal, TextWriter standardOutput)
    {
        string path = settings.Model.Checkpoint;
        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        var files = ImageFileList.Read(settings.Inputs, config.ImageChannels, config.Height, config.Width, settings.MaxImagePixels);
        if (files.Skipped.Count > 0)
            terminal.Warn($"skipped {files.Skipped.Count} file(s) that are not usable images: {ImageFolderReader.Describe(files.Skipped)}");
        if (files.Changes is { } changes) terminal.Line($"images: {changes}");
        var images = files.Images;
        var encoding = loaded.Dataset.Encoding;
        var orders = loaded.Orders;
        var (report, _, _, elapsed) = EvaluationRun.Run(terminal, group, group.IsDistributed ? group.Shard : Shard.Whole, computing, images, encoding, orders,
            images.Count, settings.BatchSize, settings.Workers, region: null);
        if (!group.IsRoot) return ExitCodes.Success;

        var result = EvaluationResult.Create(report, orders, Results.ResultDescriptions.OrderNames(model, orders.Count), ResultDescriptions.Model(settings.Model, loaded, computing.Precision),
            ResultDescriptions.Data(loaded.Dataset.Name, string.Join(" ", settings.Inputs), "files", images, images.Count, encoding, config.Bits),
            seed: 0, settings.BatchSize, files: files.Files, program: ResultFiles.Program);
        var rows = Enumerable.Range(0, result.PerImage.Count);
        rows = settings.Sort switch
        {
            ScoreSort.Ascending => rows.OrderBy(i => result.PerImage[i].Ensemble).ThenBy(i => i),
            ScoreSort.Descending => rows.OrderByDescending(i => result.PerImage[i].Ensemble).ThenBy(i => i),
            _ => rows,
        };
        var ordered = rows.ToArray();
        PrintTable(terminal, result, ordered);
        terminal.Line($"mean over {result.Images} images: {result.Ensemble.Bpd:F4} bits per dimension, {result.Ensemble.Nats:F3} nats per image "
            + $"(ensemble of {orders.Count}; {elapsed.TotalSeconds:F1} s)");
        if (settings.Csv is { } csvPath)
        {
            ResultFiles.Write(csvPath, PerImageCsv.Format(result, ordered), standardOutput, "--csv");
            if (csvPath != ResultFiles.StandardOutput) terminal.Line($"scores: {csvPath}");
        }
        if (settings.Json is { } jsonPath)
        {
            ResultFiles.Write(jsonPath, result.ToJson(), standardOutput, "--json");
            if (jsonPath != ResultFiles.StandardOutput) terminal.Line($"results: {jsonPath}");
        }
        return ExitCodes.Success;
    }

    /// <summary>A row per image in the given order: its file, bits per dimension and nats under the ensemble.</summary>
    private static void PrintTable(Terminal terminal, EvaluationResult result, IReadOnlyList<int> rows)
    {
        var table = new Table().AddColumn("file").AddColumn(new TableColumn("bits per dim").RightAligned()).AddColumn(new TableColumn("nats per image").RightAligned());
        table.Title = new TableTitle($"{result.Images} images under the ensemble of {result.Ensemble.Orders} orders");
        double ln2 = Math.Log(2);
        foreach (int i in rows)
        {
            var image = result.PerImage[i];
            table.AddRow(new Text(image.File ?? image.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Text($"{image.Ensemble / (result.Data.Dimensions * ln2):F4}"), new Text($"{image.Ensemble:F3}"));
        }
        terminal.Write(table);
    }
}
