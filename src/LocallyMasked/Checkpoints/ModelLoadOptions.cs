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
    /// For weight files that do not record the configuration: supplies what the tensor shapes cannot tell (image size,
    /// bits, dilation, dropout, normalization). Null: the defaults described at <see cref="PixelCnnCheckpoint.LoadModel"/>.
    /// Ignored for training checkpoints, which record their configuration.
    /// </summary>
    public PixelCnnConfig? Template { get; init; }

    /// <summary>For training checkpoints: load the moving average of the weights when the file holds one (the default).</summary>
    public bool UseAverage { get; init; } = true;
}
