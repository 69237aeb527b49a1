using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.Ranks;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Training;
using TorchSharp;

namespace LocallyMasked.Cli.Commands;

public static partial class TrainCommand
{
    /// <summary>
    /// Trains as the settings say, in the paper's stages: settle the data, the model and its orders (or read them from the
    /// checkpoint to resume), build the model and its trainer, train with checkpoints, then evaluate per order and for
    /// the ensemble on test images and draw samples.
    /// Under <c>mpiexec -n N</c> the ranks train one model together, each computing its slice of every batch; rank 0 alone
    /// prints and writes files (<see cref="TrainingRanks"/>).
    /// </summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(TrainSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        using var ranks = TrainingRanks.Join(settings.MpiTimeout);
        return ranks.Run(terminal, rankTerminal => Train(settings, rankTerminal, ranks));
    }

    private static int Train(TrainSettings settings, Terminal terminal, TrainingRanks ranks)
    {
        // Everything is checked before any work starts: options, files, folders, data and model.
        if (ranks.IsRoot)
        {
            Checks.WritableFolder(settings.Output, "--output");
            Checks.WritableFile(settings.CheckpointPath, "--checkpoint");
        }
        // One run per output folder: a second run would overwrite this one's checkpoint and logs (rank 0 writes them).
        using OutputLock? outputLock = ranks.IsRoot ? OutputLock.Take(settings.Output, "--output") : null;
        // Under mpiexec every rank resumes from rank 0's bytes of the checkpoint (no shared file system needed).
        if (settings.Resume is { } given && ranks.IsDistributed)
            settings = settings with { Resume = given with { Path = ranks.ShareCheckpoint(given.Path) } };
        var device = ranks.DeviceFor(settings.Device.Resolve());
        // With --download rank 0 fetches the data before the others read it.
        var setup = ranks.RankZeroFirst(settings.Data.Download, () => TrainingSetup.Prepare(settings, terminal));
        var (train, test) = (setup.Train, setup.Test);
        terminal.Line($"data: {train.Count} training and {test.Count} test images of {train.Channels}x{train.Height}x{train.Width} ({train.Name})");

        // Each rank of a machine takes its share of the cores unless --threads says otherwise.
        using var threads = (settings.Device with { Threads = settings.Device.Threads ?? ranks.DefaultThreads }).ApplyThreads();
        var options = setup.Options;
        // How a step is split over threads changes the order in which gradient terms are added and, with dropout, the
        // draws (one generator per shard; torch's own with one worker): a resumed run repeats the original bit for bit
        // with the same --threads and --workers, so a resume keeps the stored count unless told otherwise, or unless it
        // moves to a GPU, where one pass is the default.
        if (settings.Workers is not null || setup.Resumed is null || device.type != DeviceType.CPU)
            options = options with { Workers = settings.Workers ?? Math.Min(options.BatchSize, DeviceSettings.DefaultWorkers(device)) };
        if (options.Workers > options.BatchSize)
            throw new InputError($"--workers {options.Workers}: each worker needs at least one image of the batch of {options.BatchSize}; use at most {options.BatchSize} workers or a larger --batch-size.");
        if (ranks.Size * options.Workers > options.BatchSize)
            throw new InputError($"--batch-size {options.BatchSize}: {ranks.Size} ranks x {options.Workers} workers make {ranks.Size * options.Workers} shards, and each needs at least one image; use a larger --batch-size, fewer --workers or fewer ranks.");
        // Before the model is built: a run that cannot fit is refused in words rather than killed by the kernel.
        MemoryCheck.Train(setup, options, settings.FinalImages, device, settings.CheckMemory, terminal);
        // Weight initialisation draws from torch's CPU generator: seeded from --seed (the trainer seeds dropout per step).
        torch.random.manual_seed(unchecked((long)options.Seed));
        using var model = setup.Definition.Create(setup.Config, device);
        DeviceSettings.CheckModel(options.Precision, model.DType);
        DeviceSettings.ReportEmulation(options.Precision, device, terminal);
        using var trainer = PixelCnnTraining.CreateTrainer(model, setup.Orders, train, test, options, ranks.Group);
        if (settings.Resume is { } resume)
        {
            trainer.Resume(resume.Path);
            terminal.Line($"resumed from {resume.Path} at step {trainer.Step}");
        }
        var config = setup.Config;
        long parameterCount = model.Module.parameters().Sum(p => p.numel());
        terminal.Line($"model: {setup.Definition.Name}, {config.Filters} filters, {config.ResidualBlocks} blocks/stage, {config.Likelihood}, {parameterCount:N0} parameters, " +
                      $"{(model.SupportedOrders is null ? $"{setup.Orders.Count} orders" : "raster order")}, seed {options.Seed}, device {device}, {torch.get_num_threads()} threads" +
                      (options.Workers > 1 ? $" in {options.Workers} workers" : "") + (ranks.IsDistributed ? " per rank" : "") +
                      (options.Precision.IsMixed ? $", precision {options.Precision} (training steps and periodic evaluations; the final evaluation and samples in float32)" : ""));
        if (ranks.Describe(options.BatchSize, options.Workers, settings.MpiTimeout) is { } mpi) terminal.Line(mpi);
        if (trainer.Average is { } average)
            terminal.Line(FormattableString.Invariant($"weights: test evaluations and samples use the moving average of the weights (decay {average.Decay}); the checkpoint keeps both"));

        if (TrainingLoop.Run(trainer, settings, setup, terminal, ranks) is { } exit) return exit;

        using (trainer.Average?.Apply())
        {
            int finalImages = settings.FinalImages > 0 ? Math.Min(settings.FinalImages, test.Count) : test.Count;
            var report = EvaluationTable.Evaluate(terminal, model, test, options.Encoding, setup.Orders, finalImages, MemoryCheck.FinalEvaluationBatch, trainer.OnWorkers);
            EvaluationTable.Print(terminal, report, setup.Dataset.ReportsBitsPerDimension, model.SupportedOrders is null ? null : new[] { "raster" });
            // Every rank evaluates its shards of each batch; rank 0 alone draws the samples.
            if (settings.Samples > 0 && ranks.IsRoot)
            {
                var (sheets, _) = ImageBatches.Sample(terminal, settings.Sampler.Create(model, terminal), setup.Orders[0], settings.Samples,
                    Math.Min(settings.Samples, 64), options.Seed, 1.0, settings.Output, "samples", CancellationToken.None, scale: 3);
                terminal.Line($"samples: {string.Join(", ", sheets)}");
            }
        }
        return ExitCodes.Success;
    }
}
