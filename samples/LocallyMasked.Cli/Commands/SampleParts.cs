using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Sampling;
using LocallyMasked.Training.Distributed;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>sample</c> split into parts: <c>--shard I/N</c> draws the images [start, end) of the whole run that part I takes
/// (bitwise the images one process draws there) and writes them as sheets named samples-part-I-of-N; under
/// <c>mpiexec -n N</c> every rank draws its part and rank 0 writes the whole run's sheets, byte for byte one process's.
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

    private static int Sample(SampleSettings settings, Shard shard, RankGroup group, Terminal terminal)
    {
        string path = settings.Model.Checkpoint;
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
        var plan = ShardedBatches.Plan(settings.Count, settings.BatchSize, ImageBatches.SamplesPerSheet);
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
                PngFile.Write(ImageSheets.Grid(sheet, scale: 1), file, scale: 3);
            },
            (s, sheets) => ImageBatches.SheetPath(settings.Output, "samples", s, sheets),
            (k, sheets) => ImageBatches.SheetPath(settings.Output, $"samples-part-{shard.Index}-of-{shard.Count}", k, sheets),
            interrupts.Token);
        terminal.Line($"samples: {images} images in {string.Join(", ", files)} ({clock.Elapsed.TotalSeconds:F1} s)");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }
}
