using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Outputs;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Sampling;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Pictures;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>sample</c> split into parts: <c>--shard I/N</c> draws the images [start, end) of the whole run that part I takes
/// (bitwise the images one process draws there) and writes them as sheets named samples-part-I-of-N with a manifest of
/// its own; under <c>mpiexec -n N</c> every rank draws its part and rank 0 writes the whole run's sheets and manifest,
/// byte for byte one process's. The process that writes checks first that no earlier run's files are there (--force).
/// </summary>
public static class SampleParts
{
    /// <summary>Whether a run is split: --shard given, or the program started by an MPI launcher.</summary>
    /// <param name="settings">The settings.</param>
    public static bool Applies(SampleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Shard.Given || MpiLaunch.FromEnvironment().IsLaunched;
    }

    /// <summary>Runs <c>sample</c> on this process's part (the checks of <see cref="SampleCommand.Run"/> were made).</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(SampleSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        if (settings.Shard.Given && MpiLaunch.FromEnvironment().IsLaunched)
            throw new InputError("--shard: this process was started by an MPI launcher, whose ranks split the images themselves; leave --shard out, or run without mpiexec.");
        var shard = settings.Shard.Resolve(Environment.GetEnvironmentVariable);
        using var group = RankGroup.Join();
        return group.Run(terminal, t => Sample(settings, group.IsDistributed ? group.Shard : shard, group, t));
    }

    /// <summary>The base name of part I of N's sheets and manifest: samples-part-I-of-N.</summary>
    /// <param name="shard">The part.</param>
    public static string PartName(Shard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        return $"{SampleCommand.SheetName}-part-{shard.Index}-of-{shard.Count}";
    }

    private static int Sample(SampleSettings settings, Shard shard, RankGroup group, Terminal terminal)
    {
        string path = settings.Model.Checkpoint;
        var plan = ShardedBatches.Plan(settings.Count, settings.BatchSize, ImageBatches.SamplesPerSheet);
        // Under MPI rank 0 writes the whole run's files, and its manifest is one process's; a part of a job array writes
        // its own sheets and a manifest of its own (samples-part-I-of-N.json) that says which images they are.
        string name = group.IsDistributed ? SampleCommand.SheetName : PartName(shard);
        int sheets = group.IsDistributed ? ImageBatches.SheetCount(settings.Count, ImageBatches.SamplesPerSheet) : ShardedBatches.PartSheets(plan, shard).Count;
        if (group.IsRoot) SampleCommand.CheckOutputs(settings, name, sheets);
        using var threads = settings.Device.ApplyThreads();
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var computing = settings.Device.InPrecision(model, terminal);
        var config = model.Configuration;
        DataChecks.DataFitsModel(loaded.Dataset, config, path);
        if (settings.OrderIndex >= loaded.Orders.Count)
            throw new InputError($"--order-index {settings.OrderIndex}: the model has orders 0 to {loaded.Orders.Count - 1}.");
        var order = loaded.Orders[settings.OrderIndex];
        var sampler = settings.Sampler.Create(computing, terminal);
        var range = shard.RangeOf(plan.Select(b => b.Count).ToArray());
        if (group.IsDistributed) terminal.Line($"{group.Size} MPI ranks draw parts of the {settings.Count} images; rank 0 writes the sheets");
        else if (range.Count == 0)
            throw new InputError($"--shard {shard}: this part holds no images: {settings.Count} images in batches of at most {settings.BatchSize} make "
                + $"{plan.Count} batches, fewer than the parts that start one; use fewer parts or a smaller --batch-size.");
        else terminal.Line($"shard {shard}: {range} of {settings.Count} (as one process draws them with --seed {settings.Seed} and --batch-size {settings.BatchSize})");

        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images drawn so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (files, images) = ShardedBatches.Run(terminal, "sampling", group, shard, plan, new long[] { config.ImageChannels, config.Height, config.Width }, model.DType,
            batch =>
            {
                using var scope = NewDisposeScope();
                var options = new SamplingOptions { Seed = ImageBatches.SeedOf(settings.Seed, batch.Index), Temperature = settings.Temperature };
                return sampler.Sample(order, batch.Count, options).cpu().MoveToOuterDisposeScope();
            },
            (sheet, file) =>
            {
                using var scope = NewDisposeScope();
                PngWriter.Write(ImageSheets.Grid(sheet, scale: 1), file, scale: 3);
            },
            (s, sheets) => ImageBatches.SheetPath(settings.Output, SampleCommand.SheetName, s, sheets),
            (k, sheets) => ImageBatches.SheetPath(settings.Output, PartName(shard), k, sheets),
            interrupts.Token);
        string manifest = RunManifest.FileName(name);
        if (group.IsDistributed)
        {
            if (group.IsRoot) SampleCommand.WriteManifest(settings, model, ManifestFile.Sheets(files, images, ImageBatches.SamplesPerSheet), manifest);
        }
        else
        {
            // The part's sheets hold its images of each of the run's sheets, filled in turn.
            var capacities = ShardedBatches.PartSheets(plan, shard);
            var entries = new List<ManifestFile>();
            int left = images;
            for (int k = 0; k < files.Count; k++)
            {
                int n = Math.Min(capacities[k].Images, left);
                entries.Add(new ManifestFile(Path.GetFileName(files[k]), ManifestFile.Sheet, n, capacities[k].First));
                left -= n;
            }
            SampleCommand.WriteManifest(settings, model, entries, manifest, new ManifestShard(shard.Index, shard.Count, range.Start, range.Count));
        }
        string listed = group.IsRoot ? $"; files listed in {Path.Combine(settings.Output, manifest)}" : "";
        terminal.Line($"samples: {images} images in {string.Join(", ", files)} ({clock.Elapsed.TotalSeconds:F1} s){listed}");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }
}
