using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>A model loaded from a file, with what the file says about it. Disposing it disposes the model.</summary>
/// <param name="Model">The model, in evaluation mode, owned by the caller.</param>
/// <param name="Format">The kind of file it was read from.</param>
/// <param name="Orders">The orders the model was trained with, when the file records them; else null.</param>
/// <param name="Metadata">A training checkpoint's metadata (step, orders, settings); null for weight files.</param>
/// <param name="UsedAverage">Whether the weights are the checkpoint's moving average rather than the trained weights.</param>
public sealed record LoadedModel(
    LocallyMaskedPixelCnn Model,
    CheckpointFormat Format,
    IReadOnlyList<GenerationOrder>? Orders,
    CheckpointMetadata? Metadata,
    bool UsedAverage) : IDisposable
{
    /// <summary>Disposes the model.</summary>
    public void Dispose() => Model.Dispose();
}
