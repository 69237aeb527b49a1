using LocallyMasked.Cli.Settings;
using LocallyMasked.Training;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>train</c> does: the model, orders, data and trainer settings of a run, its length, and its outputs.</summary>
public sealed record TrainSettings
{
    /// <summary>--output: the folder of the logs, the plot and the samples.</summary>
    public required string Output { get; init; }

    /// <summary>--checkpoint: the checkpoint file written (default OUTPUT/model.ckpt).</summary>
    public required string CheckpointPath { get; init; }

    /// <summary>--checkpoint-every: steps between checkpoints.</summary>
    public required int CheckpointEvery { get; init; }

    /// <summary>--steps: train until this step.</summary>
    public required long Steps { get; init; }

    /// <summary>--minutes: the wall-clock budget; null: none.</summary>
    public required double? Minutes { get; init; }

    /// <summary>--device and --threads.</summary>
    public required DeviceSettings Device { get; init; }

    /// <summary>Where the images come from.</summary>
    public required DataSettings Data { get; init; }

    /// <summary>--train-images: use only the first N training images (0: all).</summary>
    public required int TrainImages { get; init; }

    /// <summary>The model a new run builds (with --resume only <see cref="NewModelSettings.Definition"/> matters, when typed).</summary>
    public required NewModelSettings Model { get; init; }

    /// <summary>The orders of a new run (--order, --orders).</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>
    /// The trainer settings of a new run: batch size, learning rate and its decay, Adam's betas, clipping, weight
    /// average, order sampling, seed and periodic evaluations. The input encoding follows the data set and the workers
    /// follow <see cref="Workers"/> when the run starts.
    /// </summary>
    public required TrainerOptions Options { get; init; }

    /// <summary>--workers: shards per batch; null: <see cref="DeviceSettings.DefaultWorkers"/> for a new run, the stored count on resume.</summary>
    public required int? Workers { get; init; }

    /// <summary>--resume: continue a stored run instead of starting one; null: a new run.</summary>
    public required ResumeSettings? Resume { get; init; }

    /// <summary>--final-eval-images: test images for the final evaluation (0: all).</summary>
    public required int FinalImages { get; init; }

    /// <summary>False with --no-memory-check: the run is not refused when its memory estimate exceeds what is available.</summary>
    public bool CheckMemory { get; init; } = true;

    /// <summary>--samples: images drawn after training (0: none).</summary>
    public required int Samples { get; init; }

    /// <summary>--sampler for those images.</summary>
    public required SamplerChoice Sampler { get; init; }

    /// <summary>--mpi-timeout: under mpiexec, how long a rank waits for the others at each exchange before it names the one it lost.</summary>
    public TimeSpan MpiTimeout { get; init; } = MpiCommunicator.DefaultTimeout;
}
