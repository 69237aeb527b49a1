using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>A model loaded from a file, with what the file says about it. Disposing it disposes the model.</summary>
/// <param name="Model">The model, in evaluation mode, owned by the caller.</param>
/// <param name="Format">The kind of file it was read from.</param>
/// <param name="Orders">The orders the model was trained with, when the file records them (training checkpoints, the
/// reference code's <c>args</c>); else null.</param>
/// <param name="Metadata">A training checkpoint's metadata (step, orders, settings); null for weight files.</param>
/// <param name="UsedAverage">Whether the weights are the moving average rather than the trained weights.</param>
/// <param name="Notes">The settings the file did not decide: assumed, or overridden by the caller. Empty when the file
/// decided everything.</param>
public sealed record LoadedModel(
    LocallyMaskedPixelCnn Model,
    CheckpointFormat Format,
    IReadOnlyList<GenerationOrder>? Orders,
    CheckpointMetadata? Metadata,
    bool UsedAverage,
    IReadOnlyList<ConfigurationNote> Notes) : IDisposable
{
    /// <summary>Whether the file records how the model was configured (a training checkpoint, or the reference code's <c>args</c>).</summary>
    public bool ConfigurationRecorded => Metadata is not null || Orders is not null;

    /// <summary>Disposes the model.</summary>
    public void Dispose() => Model.Dispose();
}
