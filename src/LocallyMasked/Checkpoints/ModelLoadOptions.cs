using LocallyMasked.Layers;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>How <see cref="PixelCnnCheckpoint.LoadModel"/> builds the model it loads.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Device of the model; the default device when null.</summary>
    public Device? Device { get; init; }

    /// <summary>Element type of the model; the file's (training checkpoints) or the default dtype when null.</summary>
    public ScalarType? DType { get; init; }

    /// <summary>
    /// For weight files that record no configuration (no reference-code <c>args</c>): supplies what the tensor shapes cannot
    /// tell (image size, bits, dropout), and the defaults of what they cannot tell that is reported as assumed
    /// (normalization, dilation). Null: 32x32 for RGB and 28x28 for one channel, 8 bits and the published models'
    /// settings. Ignored for files that record their configuration. For a PixelCNN++ baseline file only its image size and
    /// bits are used.
    /// </summary>
    public PixelCnnConfig? Template { get; init; }

    /// <summary>
    /// Load the exponential moving average of the weights instead of the trained weights: a training checkpoint's weight
    /// average, or the reference code's <c>ema_state_dict</c>. A file without one is an error.
    /// </summary>
    public bool MovingAverageWeights { get; init; }

    /// <summary>The feature normalization to use whatever the file records or implies (reported as an override), or null.</summary>
    public FeatureNormalization? Normalization { get; init; }

    /// <summary>The dilation of the resampling convolutions to use whatever the file records or implies (reported as an override), or null.</summary>
    public int? MaxDilation { get; init; }

    /// <summary>
    /// For weight files (PyTorch, TorchSharp): the image size to build the model for, whatever the file's <c>args</c> (its
    /// data set) or <see cref="Template"/> imply. The convolution weights of both models apply at any size (a PixelCNN++
    /// needs multiples of 4); the reference code's orders are rebuilt at this size. Reported as an override when the file
    /// records another size. Null: the file's or the template's size. A training checkpoint's size cannot be changed.
    /// </summary>
    public (int Height, int Width)? ImageSize { get; init; }

    /// <summary>
    /// Load weights that hold NaN or infinite values. By default such a file is refused with a
    /// <see cref="CheckpointException"/> that names each tensor (state-dict key) and how many of its values are not
    /// finite, since its likelihoods and samples would be NaN; the check reads every weight once.
    /// </summary>
    public bool AllowNonFiniteWeights { get; init; }

    /// <summary>The limits within which the file is read (pickle size and depth, inflated tensors, image pixels); <see cref="CheckpointLimits.Default"/> unless set.</summary>
    public CheckpointLimits Limits { get; init; } = CheckpointLimits.Default;
}
