using LocallyMasked.Models;
using LocallyMasked.Training;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// The defaults of <c>train</c>'s options. Where an option has a library counterpart that means the same, its default is
/// read from the library (<see cref="TrainerOptions"/>, <see cref="PixelCnnConfig"/>), so that the two cannot drift.
/// Where it differs, the program trains a far smaller model than the paper's for 1,000 steps on a CPU, and the value
/// suits that; the library's XML docs say the same from their side. The options that are flags or have no value when
/// left out (--lr-decay-per-epoch, --clip, --ema, --per-batch-orders) keep the library's default by being absent.
/// </summary>
public static class TrainingDefaults
{
    private static readonly TrainerOptions Library = new();
    private static readonly PixelCnnConfig LibraryModel = new();

    /// <summary>Adam's beta1: the library's.</summary>
    public static double Beta1 => Library.Beta1;

    /// <summary>Adam's beta2: the library's.</summary>
    public static double Beta2 => Library.Beta2;

    /// <summary>The seed: the library's.</summary>
    public static ulong Seed => Library.Seed;

    /// <summary>Dropout: the locally masked model's library default (0), for both models; the PixelCNN++ configuration's
    /// default is the authors' 0.5 (<see cref="PixelCnnPlusPlusConfig.Dropout"/> says why the program differs).</summary>
    public static double Dropout => LibraryModel.Dropout;

    /// <summary>Images per step: half the library's, so that the small model takes more steps in the same time.</summary>
    public const int BatchSize = 16;

    /// <summary>Adam's learning rate: ten times the library's (the paper's, for 160-filter models); a 16-filter model
    /// tolerates the larger step and a 1,000-step run needs it.</summary>
    public const double LearningRate = 2e-3;

    /// <summary>The learning-rate decay per step: halves <see cref="LearningRate"/> within about 1,400 steps, the length
    /// of the program's runs (the library's is for runs of hundreds of thousands of steps).</summary>
    public const double LearningRateDecay = 0.9995;

    /// <summary>Periodic test evaluations every 100 steps, for the test curve in the log (the library's default is none).</summary>
    public const int EvaluateEvery = 100;

    /// <summary>Test images per periodic evaluation: fewer than the library's 500, so that evaluations stay a small share
    /// of a short run.</summary>
    public const int EvaluationImages = 200;

    /// <summary>Feature channels per layer: a tenth of the paper's 160, so that the main job trains in minutes on a CPU.</summary>
    public const int Filters = 16;

    /// <summary>Residual blocks per stage (the paper's: 5).</summary>
    public const int Blocks = 1;

    /// <summary>Logistic mixture components (the paper's: 10).</summary>
    public const int Mixtures = 5;

    /// <summary>
    /// The trainer settings of a new run whose options were all left out: the library's defaults with the program's
    /// values above (the input encoding and the workers are set when the data and the device are known).
    /// </summary>
    public static TrainerOptions Options => Library with
    {
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        LearningRateDecay = LearningRateDecay,
        EvaluateEvery = EvaluateEvery,
        EvaluationImages = EvaluationImages,
    };
}
