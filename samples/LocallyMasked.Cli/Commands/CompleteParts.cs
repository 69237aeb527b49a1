using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.ModelFiles;
using LocallyMasked.Cli.Outputs;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Pictures;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// <c>complete</c> under <c>mpiexec -n N</c>: every rank completes its part of the test images (the batches one process
/// cuts, each with its seed, so every completion is bitwise one process's) and rank 0 writes the whole run's sheets and
/// manifest, byte for byte one process's, after checking that no earlier run's files are there (--force). The region is
/// --region or the white pixels of --mask; <c>complete --image</c> is not split (<see cref="PictureCompletion"/>).
/// </summary>
public static class CompleteParts
{
    /// <summary>Whether the program was started by an MPI launcher.</summary>
    public static bool Applies => MpiLaunch.FromEnvironment().IsLaunched;

    /// <summary>Runs <c>complete</c> on this rank's part (the checks of <see cref="CompleteCommand.Run"/> were made).</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(CompleteSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        using var group = RankGroup.Join();
        return group.Run(terminal, t => Complete(settings, group, t));
    }

    private static int Complete(CompleteSettings settings, RankGroup group, Terminal terminal)
    {
        string path = settings.Model.Checkpoint;
        string name = CompleteCommand.SheetName(settings);
        // Rank 0 writes the files: it alone checks that no earlier run's are there (an error of rank 0 stops every rank).
        if (group.IsRoot) CompleteCommand.CheckOutputs(settings, name);
        using var threads = settings.Device.ApplyThreads();
        // A --data folder that is not there is named before the model is loaded.
        if (!settings.Data.Download && settings.Data.Folder is { } given) Checks.ExistingFolder(given, "--data");
        var loaded = ModelSource.Load(settings.Model, settings.Device.Resolve(), settings.Data.Dataset, settings.Orders, terminal);
        using var model = loaded.Model;
        var (config, area, test, sampler, order, encoding) = TestImageCompletion.Prepare(settings, loaded, terminal);
        var plan = ShardedBatches.Plan(settings.Count, settings.BatchSize, ImageBatches.CompletionsPerSheet);
        terminal.Line($"{group.Size} MPI ranks complete parts of the {settings.Count} images; rank 0 writes the sheets");
        using var interrupts = new Interrupts(terminal, "stopping after this batch and writing the images completed so far");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Each batch travels as (n, 2, C, H, W): the completions and their originals.
        var (files, done) = ShardedBatches.Run(terminal, "completing", group, group.Shard, plan,
            new long[] { 2, config.ImageChannels, config.Height, config.Width }, model.DType,
            batch =>
            {
                using var scope = NewDisposeScope();
                var x = Trainer.EncodeFixed(test, Enumerable.Range(settings.First + batch.First, batch.Count).ToArray(), encoding, model.Device, model.DType, config.Bits);
                var options = new SamplingOptions { Seed = ImageBatches.SeedOf(settings.Seed, batch.Index), Temperature = settings.Temperature };
                return stack(new[] { sampler.Complete(x, area, order, options).cpu(), x.cpu() }, 1).MoveToOuterDisposeScope();
            },
            (sheet, file) =>
            {
                using var scope = NewDisposeScope();
                PngWriter.Write(ImageSheets.Completions(sheet.select(1, 0), sheet.select(1, 1), area), file, scale: 3);
            },
            (s, sheets) => ImageBatches.SheetPath(settings.Output, name, s, sheets),
            (k, sheets) => ImageBatches.SheetPath(settings.Output, $"{name}-part-{group.Rank}-of-{group.Size}", k, sheets),
            interrupts.Token);
        string manifest = RunManifest.FileName(name);
        if (group.IsRoot) CompleteCommand.WriteManifest(settings, model, files, done, manifest);
        terminal.Line($"completions: {done} images in {string.Join(", ", files)} (rows: context, completion, original; files listed in "
            + $"{Path.Combine(settings.Output, manifest)}; {clock.Elapsed.TotalSeconds:F1} s)");
        return interrupts.ExitCode ?? ExitCodes.Success;
    }
}
