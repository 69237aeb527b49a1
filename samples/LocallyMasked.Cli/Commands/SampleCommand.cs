using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Outputs;

namespace LocallyMasked.Cli.Commands;

/// <summary>The `sample` command: draws whole images in one of the model's orders and writes PNG sheets.</summary>
public static class SampleCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="shared">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<SampleSettings> Create(SharedOptions shared, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(shared);
        var checkpoint = new Option<string>("--checkpoint") { Description = "A training checkpoint of this program, or a PyTorch .pth.", Required = true };
        var count = new Option<int>("--count") { Description = $"Images to draw; written as sheets of at most {ImageBatches.SamplesPerSheet} as they are finished.", DefaultValueFactory = _ => 16 }
            .AtLeast(1, "a number of images");
        var batch = new Option<int>("--batch-size") { Description = "Images generated together (memory grows with it, not with --count).", DefaultValueFactory = _ => 64 }
            .AtLeast(1, "a batch size");
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature (1: the model's distribution).", DefaultValueFactory = _ => 1.0 }
            .Finite(v => v > 0, "a positive temperature");
        var orderIndex = new Option<int>("--order-index") { Description = "Which of the model's orders to generate in.", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "an order index");
        var shard = ShardOption.Create("Draw part I of N of the images (I from 0: 0/2 and 1/2), bitwise the images one process draws there, as sheets samples-part-I-of-N; auto takes I (and N) from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (then auto/N).");
        var command = new Command("sample", "Sample images in any order and write them as PNG sheets.") { checkpoint, count, batch, temperature, orderIndex, shard };
        shared.AddDeviceOptions(command);
        SharedOptions.Add(command, shared.Data.Dataset, shared.Output, shared.Force);
        shared.AddOrderOptions(command);
        shared.AddModelFileOptions(command);
        shared.AddSamplingOptions(command);
        return new ProgramCommand<SampleSettings>(command, result => new SampleSettings
        {
            Model = shared.ModelFileOf(result, result.GetValue(checkpoint)!),
            Device = shared.DeviceOf(result),
            Dataset = result.Given(shared.Data.Dataset) ? Datasets.Named(result.GetValue(shared.Data.Dataset)!) : null,
            Orders = shared.OrdersOf(result),
            OrderIndex = result.GetValue(orderIndex),
            Count = result.GetValue(count),
            BatchSize = result.GetValue(batch),
            Temperature = result.GetValue(temperature),
            Sampler = shared.SamplerOf(result),
            Seed = result.GetValue(shared.Seed),
            Output = result.GetValue(shared.Output)!,
            Force = result.GetValue(shared.Force),
            Shard = ShardOption.Of(result, shard),
        }, Run, terminal);
    }

    /// <summary>Loads the model and draws the images in batches, writing each sheet as soon as it is full.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(SampleSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        string path = settings.Model.Checkpoint;
        Checks.ExistingFile(path, "--checkpoint");
        Checks.WritableFolder(settings.Output, "--output");
        // A part of the images (--shard, or this rank's under mpiexec): SampleParts draws it.
        if (SampleParts.Applies(settings)) return SampleParts.Run(settings, terminal);
        const string name = SheetName;
        string manifest = RunManifest.FileName(name);
        CheckOutputs(settings, name, ImageBatches.SheetCount(settings.Count, ImageBatches.SamplesPerSheet));
        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        DataChecks.DataFitsModel(loaded.Dataset, model.Configuration, path);
        if (settings.OrderIndex >= loaded.Orders.Count)
            throw new InputError($"--order-index {settings.OrderIndex}: the model has orders 0 to {loaded.Orders.Count - 1}.");
        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images drawn so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (sheets, drawn) = ImageBatches.Sample(terminal, settings.Sampler.Create(computing, terminal), loaded.Orders[settings.OrderIndex], settings.Count,
            settings.BatchSize, settings.Seed, settings.Temperature, settings.Output, name, interrupts.Token);
        WriteManifest(settings, model, ManifestFile.Sheets(sheets, drawn, ImageBatches.SamplesPerSheet), manifest);
        terminal.Line($"samples: {drawn} images in {string.Join(", ", sheets)} ({clock.Elapsed.TotalSeconds:F1} s); files listed in {Path.Combine(settings.Output, manifest)}");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }

    /// <summary>The base name of the sheets and the manifest: samples.png (samples-001.png ...), samples.json.</summary>
    public const string SheetName = "samples";

    /// <summary>
    /// Stops before any work, in one line, when a sheet named <paramref name="name"/> of <paramref name="sheets"/> or its
    /// manifest is in the output folder already (an earlier run's, or the samples.png that train wrote), unless --force.
    /// </summary>
    /// <param name="settings">The settings.</param>
    /// <param name="name">The sheets' base name.</param>
    /// <param name="sheets">How many sheets the run writes.</param>
    public static void CheckOutputs(SampleSettings settings, string name, int sheets)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string manifest = RunManifest.FileName(name);
        OutputFiles.CheckFree(settings.Output, file => file == manifest || ImageBatches.IsSheetName(file, name, sheets), settings.Force);
    }

    /// <summary>Writes the manifest of a run's sheets (<paramref name="shard"/>: the part a --shard run drew).</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="model">The model that drew them.</param>
    /// <param name="files">The sheets written.</param>
    /// <param name="manifest">The manifest's file name.</param>
    /// <param name="shard">The part of the run, or null for the whole run.</param>
    public static void WriteManifest(SampleSettings settings, LocallyMasked.Models.IAutoregressiveImageModel model, IReadOnlyList<ManifestFile> files,
        string manifest, ManifestShard? shard = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(model);
        string? orderName = model.SupportedOrders is null ? settings.Orders.Given ? settings.Orders.Name : null : "raster";
        var written = new RunManifest("sample", settings.Model.Checkpoint, settings.Seed, new ManifestOrder(settings.OrderIndex, orderName), files) { Shard = shard };
        Directory.CreateDirectory(settings.Output);
        written.Write(Path.Combine(settings.Output, manifest));
    }
}
