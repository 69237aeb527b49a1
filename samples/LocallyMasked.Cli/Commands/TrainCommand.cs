using System.CommandLine;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using TorchSharp;

namespace LocallyMasked.Cli;

/// <summary>The `train` command: trains a model, saving checkpoints and logs, then evaluates it and writes samples.</summary>
public static class TrainCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="common">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static Command Create(CommonOptions common, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(common);
        var o = new TrainOptions();
        var command = new Command("train", "Train a locally masked PixelCNN or, with --model pixelcnn++, the PixelCNN++ baseline (default: a small lmconv model on the embedded binarized digits).");
        common.AddDeviceOptions(command);
        common.AddDataOptions(command);
        CommonOptions.Add(command, common.Output);
        common.DataExtras.AddReadOptions(command);
        CommonOptions.Add(command, common.DataExtras.Bits);
        common.AddOrderOptions(command);
        CommonOptions.Add(command, common.Model);
        common.AddModelOptions(command);
        CommonOptions.Add(command, common.MaxDilation);
        CommonOptions.Add(command, common.Dropout);
        common.AddSamplingOptions(command);
        CommonOptions.Add(command, o.All);
        command.SetAction(result => Run(result, common, o, terminal));
        return command;
    }

    /// <summary>The train command's own options.</summary>
    private sealed class TrainOptions
    {
        public readonly Option<long> Steps = new Option<long>("--steps") { Description = "Train until this step.", DefaultValueFactory = _ => 1000 }
            .AtLeast(1, "a number of steps");
        public readonly Option<double?> Minutes = new Option<double?>("--minutes") { Description = "Wall-clock budget: stop (after a whole step, with a checkpoint) when it is spent." }
            .Finite(v => v > 0, "a positive number of minutes");
        public readonly Option<int> Batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 16 }
            .AtLeast(1, "a batch size");
        public readonly Option<double> Lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 2e-3 }
            .Finite(v => v > 0 && v <= 1, "a learning rate in (0, 1]");
        public readonly Option<double> Decay = new Option<double>("--lr-decay") { Description = "Learning-rate decay (lr *= decay after every step, or every epoch with --lr-decay-per-epoch).", DefaultValueFactory = _ => 0.9995 }
            .Finite(v => v > 0 && v <= 1, "a decay in (0, 1]");
        public readonly Option<bool> DecayPerEpoch = new("--lr-decay-per-epoch") { Description = "Apply --lr-decay once per epoch, as the authors' PyTorch loop does, instead of after every step." };
        public readonly Option<double> Beta1 = new Option<double>("--beta1") { Description = "Adam beta1.", DefaultValueFactory = _ => 0.95 }
            .Finite(v => v >= 0 && v < 1, "a number in [0, 1)");
        public readonly Option<double> Beta2 = new Option<double>("--beta2") { Description = "Adam beta2.", DefaultValueFactory = _ => 0.9995 }
            .Finite(v => v >= 0 && v < 1, "a number in [0, 1)");
        public readonly Option<double?> Clip = new Option<double?>("--clip") { Description = "Clip the global gradient norm to this value." }
            .Finite(v => v > 0, "a positive gradient norm");
        public readonly Option<double?> Ema = new Option<double?>("--ema") { Description = "Keep an exponential moving average of the weights with this decay (e.g. 0.999)." }
            .Finite(v => v >= 0 && v < 1, "a decay in [0, 1)");
        public readonly Option<bool> PerBatch = new("--per-batch-orders") { Description = "One order per batch instead of one per image." };
        public readonly Option<int?> Workers = new Option<int?>("--workers")
        {
            Description = "Shards of each batch computed at once, each on its own thread with an equal share of --threads (default: 2 on the CPU with 2 or more threads, else 1). " +
                          "Small models train faster this way on few cores; results are reproducible for fixed --threads and --workers.",
        }.Accepting(v => v is null or >= 1, "a number of workers, at least 1");
        public readonly Option<int> EvalEvery = new Option<int>("--eval-every") { Description = "Evaluate on test images every N steps (0: never).", DefaultValueFactory = _ => 100 }
            .AtLeast(0, "a number of steps (0: never)");
        public readonly Option<int> EvalImages = new Option<int>("--eval-images") { Description = "Test images for periodic evaluations (0: all).", DefaultValueFactory = _ => 200 }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<int> FinalImages = new Option<int>("--final-eval-images") { Description = "Test images for the final per-order and ensemble evaluation (0: all).", DefaultValueFactory = _ => 500 }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<int> TrainImages = new Option<int>("--train-images") { Description = "Use only the first N training images (0: all).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<string?> Checkpoint = new("--checkpoint") { Description = "Checkpoint file to write (default: <output>/model.ckpt)." };
        public readonly Option<int> Every = new Option<int>("--checkpoint-every") { Description = "Save a checkpoint every N steps.", DefaultValueFactory = _ => 50 }
            .AtLeast(1, "a number of steps");
        public readonly Option<string?> Resume = new("--resume") { Description = "Continue from this checkpoint (its model and training settings are used)." };
        public readonly Option<int> Samples = new Option<int>("--samples") { Description = "Samples to draw after training (0: none).", DefaultValueFactory = _ => 16 }
            .AtLeast(0, "a number of samples (0: none)");

        public Option[] All => new Option[]
        {
            Steps, Minutes, Batch, Lr, Decay, DecayPerEpoch, Beta1, Beta2, Clip, Ema, PerBatch, Workers, EvalEvery, EvalImages, FinalImages,
            TrainImages, Checkpoint, Every, Resume, Samples,
        };
    }

    private static int Run(ParseResult result, CommonOptions common, TrainOptions o, Terminal terminal)
    {
        // Everything is checked before any work starts: options, files, folders, data and model.
        string output = result.GetValue(common.Output)!;
        string checkpointPath = result.GetValue(o.Checkpoint) ?? Path.Combine(output, "model.ckpt");
        Checks.WritableFolder(output, "--output");
        Checks.WritableFile(checkpointPath, "--checkpoint");
        long target = result.GetValue(o.Steps);
        var device = common.DeviceOf(result);

        string? resumePath = result.GetValue(o.Resume);
        CheckpointMetadata? resumed = null;
        IImageModelConfig? resumedConfig = null;
        var definition = ModelCatalog.Named(result.GetValue(common.Model)!);
        DatasetKind kind;
        if (resumePath is not null)
        {
            Checks.ExistingFile(resumePath, "--resume");
            Checks.NotGiven(result,
                new Option[] { o.Batch, o.Lr, o.Decay, o.DecayPerEpoch, o.Beta1, o.Beta2, o.Clip, o.Ema, o.PerBatch, common.Seed, common.Order, common.Orders,
                    common.Filters, common.Blocks, common.Mixtures, common.Dropout, common.MaxDilation },
                $"with --resume: the run continues with the settings stored in {resumePath}; remove them, or start a new run without --resume");
            resumed = CheckpointMetadata.Read(resumePath);
            var requested = definition;
            (definition, resumedConfig) = ConfigOf(resumed, resumePath);
            if (CommonOptions.Given(result, common.Model) && requested != definition)
                throw new InputError(
                    $"--model {requested.Name}: {resumePath} holds a {definition.Name} model; leave --model out to continue it, or start a new run without --resume.");
            if (resumed.Step >= target)
                throw new InputError($"--steps {target}: {resumePath} is already at step {resumed.Step}; give a larger --steps to train further.");
            kind = CommonOptions.Given(result, common.Dataset) ? DataSources.KindOf(result, common) : KindOf(resumedConfig);
            Checks.DataFitsModel(kind, resumedConfig, resumePath);
        }
        else
        {
            kind = DataSources.KindOf(result, common);
        }

        string? data = DataSources.FolderOf(result, common, kind);   // downloads first with --download
        var train = Checks.NotEmpty(DataSources.Read(result, common, kind, data, train: true, resumedConfig), "training");
        var test = Checks.NotEmpty(DataSources.Read(result, common, kind, data, train: false, resumedConfig), "test");
        if (result.GetValue(o.TrainImages) is > 0 and var limit && limit < train.Count) train = train.Take(limit);
        if (resumed is not null && resumedConfig is not null)
        {
            Checks.ImagesFitModel(train, resumedConfig, resumePath!);
            if (resumed.TrainingImages != 0 && resumed.TrainingImages != train.Count)
                throw new InputError(
                    $"--train-images: {resumePath} was trained on {resumed.TrainingImages} images and this run has {train.Count}; give the same --data and --train-images as the run it continues.");
        }

        IImageModelConfig config;
        TrainerOptions options;
        IReadOnlyList<GenerationOrder> orders;
        if (resumed is not null && resumedConfig is not null)
        {
            config = resumedConfig;
            options = TrainerOptions.FromMetadata(resumed);
            orders = resumed.Orders();
            // Periodic evaluations draw nothing at random: they may change on resume.
            if (CommonOptions.Given(result, o.EvalEvery)) options = options with { EvaluateEvery = result.GetValue(o.EvalEvery) };
            if (CommonOptions.Given(result, o.EvalImages)) options = options with { EvaluationImages = result.GetValue(o.EvalImages) };
        }
        else
        {
            config = common.ConfigFor(result, definition, kind, train.Channels, train.Height, train.Width);
            orders = common.OrdersFor(result, definition, train.Height, train.Width);
            options = new TrainerOptions
            {
                BatchSize = result.GetValue(o.Batch),
                LearningRate = result.GetValue(o.Lr),
                LearningRateDecay = result.GetValue(o.Decay),
                DecayEvery = result.GetValue(o.DecayPerEpoch) ? LearningRateDecayUnit.Epoch : LearningRateDecayUnit.Step,
                Beta1 = result.GetValue(o.Beta1),
                Beta2 = result.GetValue(o.Beta2),
                MaxGradientNorm = result.GetValue(o.Clip),
                EmaDecay = result.GetValue(o.Ema),
                OrderSampling = result.GetValue(o.PerBatch) ? OrderSampling.PerBatch : OrderSampling.PerImage,
                Encoding = DataSources.Encoding(kind),
                Seed = result.GetValue(common.Seed),
                EvaluateEvery = result.GetValue(o.EvalEvery),
                EvaluationImages = result.GetValue(o.EvalImages),
            };
        }
        if (train.Count < options.BatchSize)
            throw new InputError($"--batch-size {options.BatchSize}: {train.Name} has only {train.Count} training images; use a smaller --batch-size or more --train-images.");
        terminal.Line($"data: {train.Count} training and {test.Count} test images of {train.Channels}x{train.Height}x{train.Width} ({train.Name})");

        using var threads = common.ApplyThreads(result);
        // How a step is split over threads changes the order in which gradient terms are added and, with dropout, the
        // draws (one generator per shard; torch's own with one worker): a resumed run repeats the original bit for bit
        // with the same --threads and --workers, so a resume keeps the stored count unless told otherwise, or unless it
        // moves to a GPU, where one pass is the default.
        if (CommonOptions.Given(result, o.Workers) || resumed is null || device.type != DeviceType.CPU)
            options = options with { Workers = result.GetValue(o.Workers) ?? Math.Min(options.BatchSize, CommonOptions.DefaultWorkers(device)) };
        if (options.Workers > options.BatchSize)
            throw new InputError($"--workers {options.Workers}: each worker needs at least one image of the batch of {options.BatchSize}; use at most {options.BatchSize} workers or a larger --batch-size.");
        // Weight initialisation draws from torch's CPU generator: seeded from --seed (the trainer seeds dropout per step).
        torch.random.manual_seed(unchecked((long)options.Seed));
        using var model = definition.Create(config, device);
        using var trainer = PixelCnnTraining.CreateTrainer(model, orders, train, test, options);
        if (resumePath is not null)
        {
            trainer.Resume(resumePath);
            terminal.Line($"resumed from {resumePath} at step {trainer.Step}");
        }
        long parameterCount = model.Module.parameters().Sum(p => p.numel());
        terminal.Line($"model: {CommonOptions.NameOf(model.Kind)}, {config.Filters} filters, {config.ResidualBlocks} blocks/stage, {config.Likelihood}, {parameterCount:N0} parameters, " +
                      $"{(model.SupportedOrders is null ? $"{orders.Count} orders" : "raster order")}, seed {options.Seed}, device {device}, {torch.get_num_threads()} threads" +
                      (options.Workers > 1 ? $" in {options.Workers} workers" : ""));
        if (trainer.Average is { } average)
            terminal.Line(FormattableString.Invariant($"weights: test evaluations and samples use the moving average of the weights (decay {average.Decay}); the checkpoint keeps both"));

        bool bpd = kind != DatasetKind.BinarizedMnist;
        long firstStep = trainer.Step;
        string? lastGood = resumePath;
        long lastGoodStep = firstStep;
        TrainingDivergedException? diverged = null;
        int? signal;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var log = new TrainingLog(output, train.ImageSize, resumePath is null ? null : firstStep);
        using (var interrupts = new Interrupts(terminal, "stopping after this step and saving a checkpoint"))
        {
            // The time budget stops training like Ctrl+C does, but the run then goes on to evaluate and sample.
            using var budget = new CancellationTokenSource();
            if (result.GetValue(o.Minutes) is { } budgetMinutes) budget.CancelAfter(TimeSpan.FromMinutes(budgetMinutes));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupts.Token, budget.Token);
            int saveEvery = result.GetValue(o.Every);
            try
            {
                terminal.WithProgress("training", target, line =>
                {
                    var reporter = new Reporter(line, log, terminal, bpd, target);
                    while (trainer.Step < target && !stop.IsCancellationRequested)
                    {
                        // A libtorch error is a bug: it is not retried (CliApp reports it with exit code 70).
                        trainer.Train(Math.Min(target, (trainer.Step / saveEvery + 1) * saveEvery), reporter, stop.Token);
                        trainer.Save(checkpointPath);
                        lastGood = checkpointPath;
                        lastGoodStep = trainer.Step;
                    }
                }, percentStep: 2, initial: firstStep);
            }
            catch (TrainingDivergedException e)
            {
                diverged = e;
            }
            if (budget.IsCancellationRequested && !interrupts.Token.IsCancellationRequested)
                terminal.Line($"the {result.GetValue(o.Minutes)} minute budget is spent");
            signal = interrupts.ExitCode;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        long ran = (diverged?.Step ?? trainer.Step) - firstStep;
        if (log.WritePlot(bpd) is { } plot) terminal.Line($"logs: {log.CsvPath}, {log.TensorBoardFolder}/, {plot}");
        if (diverged is not null)
        {
            string kept = lastGood is null ? "no checkpoint was saved" : $"the last good checkpoint is {lastGood} (step {lastGoodStep})";
            terminal.Error.WriteLine($"lmconv: training stopped: {diverged.Message} {char.ToUpperInvariant(kept[0])}{kept[1..]}.");
            return ExitCodes.Diverged;
        }
        if (ran == 0)
        {
            terminal.Error.WriteLine(signal is null
                ? $"lmconv: no step was trained: the --minutes budget ran out before the first step; nothing was saved."
                : "lmconv: stopped before the first step; nothing was saved.");
            return signal ?? ExitCodes.BadInput;
        }
        terminal.Line($"trained {ran} steps in {seconds:F0} s ({seconds / ran:F3} s/step); checkpoint {checkpointPath} at step {trainer.Step}");
        if (signal is { } code) return code;

        using (trainer.Average?.Apply())
        {
            int finalImages = result.GetValue(o.FinalImages) is > 0 and var f ? Math.Min(f, test.Count) : test.Count;
            var report = EvaluateCommand.Evaluate(terminal, model, test, options.Encoding, orders, finalImages, 64, trainer.OnWorkers);
            EvaluateCommand.Print(terminal, report, bpd, model.SupportedOrders is null ? null : new[] { "raster" });
            int count = result.GetValue(o.Samples);
            if (count > 0)
            {
                var (sheets, _) = ImageBatches.Sample(terminal, common.SamplerOf(result, model, terminal), orders[0], count, Math.Min(count, 64),
                    options.Seed, 1.0, output, "samples", CancellationToken.None, scale: 3);
                terminal.Line($"samples: {string.Join(", ", sheets)}");
            }
        }
        return ExitCodes.Success;
    }

    private static (ModelDefinition Definition, IImageModelConfig Config) ConfigOf(CheckpointMetadata metadata, string path)
    {
        try
        {
            return (metadata.Definition(), metadata.ReadConfiguration());
        }
        catch (InvalidDataException e)
        {
            throw new InputError($"--resume {path}: {CliApp.OneLine(e)}", e);
        }
    }

    private static DatasetKind KindOf(IImageModelConfig config) => config.Likelihood switch
    {
        LikelihoodKind.Binary => DatasetKind.BinarizedMnist,
        LikelihoodKind.GreyLogisticMixture => DatasetKind.Mnist,
        _ => DatasetKind.Cifar10,
    };

    /// <summary>Turns the trainer's reports into progress, log rows, evaluation lines and a warning when the loss climbs.</summary>
    private sealed class Reporter(Terminal.ProgressLine line, TrainingLog log, Terminal terminal, bool bpd, long target) : IProgress<TrainingProgress>
    {
        private double lowest = double.PositiveInfinity;
        private bool warned;

        public void Report(TrainingProgress value)
        {
            log.Step(value);
            string loss = bpd ? $"{value.RunningBitsPerDimension:F4} bpd" : $"{value.RunningLoss:F2} nats";
            line.Report(value.Step, terminal.Interactive
                ? $"{value.Step}/{target} {loss} lr {value.LearningRate:0.0e+0}"   // short: the bar needs the width
                : $"step {value.Step}/{target}  train {loss}  lr {value.LearningRate:0.00e+0}  {value.SecondsPerStep:F3} s/step");
            if (value.TestLoss is { } test)
            {
                double ratio = value.RunningBitsPerDimension / value.RunningLoss;
                terminal.Line($"step {value.Step}: test {(bpd ? $"{test * ratio:F4} bpd" : $"{test:F2} nats")} (train {loss})");
            }
            // A running loss far above its lowest value means the steps are too large.
            if (value.Step >= 20) lowest = Math.Min(lowest, value.RunningLoss);
            if (!warned && value.RunningLoss > 4 * lowest && lowest > 0)
            {
                warned = true;
                terminal.Warn($"the training loss rose from {lowest:G4} to {value.RunningLoss:G4} nats by step {value.Step}; the learning rate (--lr) may be too high.");
            }
        }
    }
}
