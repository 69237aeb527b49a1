using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Numerics;
using LocallyMasked.Training;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Cli.Commands;

/// <summary>The `train` command: trains a model, saving checkpoints and logs, then evaluates it and writes samples.</summary>
public static partial class TrainCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="shared">The shared options.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<TrainSettings> Create(SharedOptions shared, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(shared);
        var o = new TrainOptions();
        var command = new Command("train", "Train a locally masked PixelCNN or, with --model pixelcnn++, the PixelCNN++ baseline (default: a small lmconv model on the embedded binarized digits).");
        shared.AddDeviceOptions(command);
        shared.Data.AddTo(command);
        SharedOptions.Add(command, shared.Output, shared.Data.Bits);
        shared.AddOrderOptions(command);
        SharedOptions.Add(command, shared.Model, shared.Filters, shared.Blocks, shared.Mixtures, shared.MaxDilation, shared.Dropout);
        shared.AddSamplingOptions(command);
        SharedOptions.Add(command, o.All);
        return new ProgramCommand<TrainSettings>(command, result => Bind(result, shared, o), Run, terminal);
    }

    /// <summary>The settings from a parse result: every value checked, and the options a resumed run cannot use refused.</summary>
    private static TrainSettings Bind(ParseResult result, SharedOptions shared, TrainOptions o)
    {
        string output = result.GetValue(shared.Output)!;
        string? resume = result.GetValue(o.Resume);
        if (resume is not null)
            result.Refuse(
                new Option[] { o.Batch, o.Lr, o.Decay, o.DecayPerEpoch, o.Beta1, o.Beta2, o.Clip, o.Ema, o.PerBatch, shared.Seed, shared.Order, shared.Orders,
                    shared.Filters, shared.Blocks, shared.Mixtures, shared.Dropout, shared.MaxDilation, shared.Data.Bits },
                $"with --resume: the run continues with the settings stored in {resume}; remove them, or start a new run without --resume");
        var model = shared.NewModelOf(result);
        var device = shared.DeviceOf(result);
        var orders = shared.OrdersOf(result);
        var sampler = shared.SamplerOf(result);
        int samples = result.GetValue(o.Samples);
        if (resume is null)
        {
            orders.CheckRasterOnly(model.Definition);
            if (samples > 0) sampler.For(model.Definition);
        }
        return new TrainSettings
        {
            Output = output,
            CheckpointPath = result.GetValue(o.Checkpoint) ?? Path.Combine(output, "model.ckpt"),
            CheckpointEvery = result.GetValue(o.Every),
            Steps = result.GetValue(o.Steps),
            Minutes = result.GetValue(o.Minutes),
            Device = device,
            Data = shared.DataOf(result),
            TrainImages = result.GetValue(o.TrainImages),
            Model = model,
            Orders = orders,
            Options = new TrainerOptions
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
                Seed = result.GetValue(shared.Seed),
                EvaluateEvery = result.GetValue(o.EvalEvery),
                EvaluationImages = result.GetValue(o.EvalImages),
                Precision = device.Precision ?? ComputePrecision.Float32,
            },
            Workers = result.GetValue(o.Workers),
            Resume = resume is null ? null : new ResumeSettings(resume, result.IfGiven(o.EvalEvery), result.IfGiven(o.EvalImages), device.Precision),
            FinalImages = result.GetValue(o.FinalImages),
            CheckMemory = !result.GetValue(o.NoMemoryCheck),
            Samples = samples,
            Sampler = sampler,
            MpiTimeout = TimeSpan.FromSeconds(result.GetValue(o.MpiTimeout)),
        };
    }

    /// <summary>The longest --minutes: a CancellationTokenSource's timer takes at most 2^32 - 2 milliseconds.</summary>
    public const double MaxMinutes = 71_582;

    /// <summary>The train command's own options.</summary>
    private sealed class TrainOptions
    {
        public readonly Option<long> Steps = new Option<long>("--steps") { Description = "Train until this step.", DefaultValueFactory = _ => 1000 }
            .AtLeast(1, "a number of steps");
        public readonly Option<double?> Minutes = new Option<double?>("--minutes") { Description = "Wall-clock budget: stop (after a whole step, with a checkpoint) when it is spent." }
            .Finite(v => v > 0 && v <= MaxMinutes, $"a positive number of minutes, at most {MaxMinutes:N0} (49.7 days, the longest timer .NET sets); leave --minutes out for no budget");
        public readonly Option<int> Batch = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => TrainingDefaults.BatchSize }
            .AtLeast(1, "a batch size");
        public readonly Option<double> Lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => TrainingDefaults.LearningRate }
            .Finite(v => v > 0 && v <= 1, "a learning rate in (0, 1]");
        public readonly Option<double> Decay = new Option<double>("--lr-decay") { Description = "Learning-rate decay (lr *= decay after every step, or every epoch with --lr-decay-per-epoch).", DefaultValueFactory = _ => TrainingDefaults.LearningRateDecay }
            .Finite(v => v > 0 && v <= 1, "a decay in (0, 1]");
        public readonly Option<bool> DecayPerEpoch = new("--lr-decay-per-epoch") { Description = "Apply --lr-decay once per epoch, as the authors' PyTorch loop does, instead of after every step." };
        public readonly Option<double> Beta1 = new Option<double>("--beta1") { Description = "Adam beta1.", DefaultValueFactory = _ => TrainingDefaults.Beta1 }
            .Finite(v => v >= 0 && v < 1, "a number in [0, 1)");
        public readonly Option<double> Beta2 = new Option<double>("--beta2") { Description = "Adam beta2.", DefaultValueFactory = _ => TrainingDefaults.Beta2 }
            .Finite(v => v >= 0 && v < 1, "a number in [0, 1)");
        public readonly Option<double?> Clip = new Option<double?>("--clip") { Description = "Clip the global gradient norm to this value." }
            .Finite(v => v > 0 && v <= float.MaxValue, "a positive gradient norm, at most 3.4e38 (float32's largest)");
        public readonly Option<double?> Ema = new Option<double?>("--ema") { Description = "Keep an exponential moving average of the weights with this decay (e.g. 0.999)." }
            .Finite(v => v >= 0 && v < 1, "a decay in [0, 1)");
        public readonly Option<bool> PerBatch = new("--per-batch-orders") { Description = "One order per batch instead of one per image." };
        public readonly Option<int?> Workers = new Option<int?>("--workers")
        {
            Description = "Shards of each batch computed at once, each on its own thread with an equal share of --threads (default: 2 on the CPU with 2 or more threads, else 1). " +
                          "Small models train faster this way on few cores; results are reproducible for fixed --threads and --workers.",
        }.Accepting(v => v is null or (>= 1 and <= DeviceSettings.MaxThreads), $"a number of workers from 1 to {DeviceSettings.MaxThreads}");
        public readonly Option<int> EvalEvery = new Option<int>("--eval-every") { Description = "Evaluate on test images every N steps (0: never).", DefaultValueFactory = _ => TrainingDefaults.EvaluateEvery }
            .AtLeast(0, "a number of steps (0: never)");
        public readonly Option<int> EvalImages = new Option<int>("--eval-images") { Description = "Test images for periodic evaluations (0: all).", DefaultValueFactory = _ => TrainingDefaults.EvaluationImages }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<int> FinalImages = new Option<int>("--final-eval-images") { Description = "Test images for the final per-order and ensemble evaluation (0: all).", DefaultValueFactory = _ => 500 }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<int> TrainImages = new Option<int>("--train-images") { Description = "Use only the first N training images (0: all).", DefaultValueFactory = _ => 0 }
            .AtLeast(0, "a number of images (0: all)");
        public readonly Option<string?> Checkpoint = new("--checkpoint") { Description = "Checkpoint file to write (default: <output>/model.ckpt)." };
        public readonly Option<int> Every = new Option<int>("--checkpoint-every") { Description = "Save a checkpoint every N steps.", DefaultValueFactory = _ => 50 }
            .AtLeast(1, "a number of steps");
        public readonly Option<string?> Resume = new("--resume") { Description = "Continue from this checkpoint (its model and training settings are used)." };
        public readonly Option<bool> NoMemoryCheck = new("--no-memory-check")
        {
            Description = "Train even when the estimate of the run's peak memory exceeds the memory available to the process (otherwise refused before anything is allocated; the estimate is within 20 %, docs/limits.md).",
        };
        public readonly Option<int> Samples = new Option<int>("--samples") { Description = "Samples to draw after training (0: none).", DefaultValueFactory = _ => 16 }
            .AtLeast(0, "a number of samples (0: none)");
        public readonly Option<double> MpiTimeout = new Option<double>("--mpi-timeout")
        {
            Description = "Under mpiexec: seconds a rank waits for the others at each exchange before it gives up, naming the rank it lost.",
            DefaultValueFactory = _ => MpiCommunicator.DefaultTimeout.TotalSeconds,
        }.Finite(v => v > 0 && v <= 7 * 24 * 3600, "a positive number of seconds, at most a week");

        public Option[] All => new Option[]
        {
            Steps, Minutes, Batch, Lr, Decay, DecayPerEpoch, Beta1, Beta2, Clip, Ema, PerBatch, Workers, EvalEvery, EvalImages, FinalImages,
            TrainImages, Checkpoint, Every, Resume, Samples, NoMemoryCheck, MpiTimeout,
        };
    }
}
