using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>A model loaded from a file, with what the file says about it. Disposing it disposes the model.</summary>
/// <param name="Model">The model, in evaluation mode, owned by the caller: a <see cref="Models.LocallyMaskedPixelCnn"/> or a
/// <see cref="Models.PixelCnnPlusPlus"/> (see <see cref="Kind"/>, or the typed <see cref="LocallyMaskedPixelCnn"/> and
/// <see cref="PixelCnnPlusPlus"/>).</param>
/// <param name="Format">The kind of file it was read from.</param>
/// <param name="Orders">The orders the model was trained with, when the file records them (training checkpoints, the
/// reference code's <c>args</c>; for a PixelCNN++ always its raster order); else null.</param>
/// <param name="Metadata">A training checkpoint's metadata (step, orders, settings); null for weight files.</param>
/// <param name="UsedAverage">Whether the weights are the moving average rather than the trained weights.</param>
/// <param name="Notes">The settings the file did not decide: assumed, or overridden by the caller. Empty when the file
/// decided everything.</param>
public sealed record LoadedModel(
    IAutoregressiveImageModel Model,
    CheckpointFormat Format,
    IReadOnlyList<GenerationOrder>? Orders,
    CheckpointMetadata? Metadata,
    bool UsedAverage,
    IReadOnlyList<ConfigurationNote> Notes) : IDisposable
{
    /// <summary>Which model the file holds.</summary>
    public ModelKind Kind => Model.Kind;

    /// <summary>The model as a Locally Masked PixelCNN++.</summary>
    /// <exception cref="InvalidOperationException">The file holds a PixelCNN++ baseline.</exception>
    public LocallyMaskedPixelCnn LocallyMaskedPixelCnn => Model as LocallyMaskedPixelCnn
        ?? throw new InvalidOperationException($"The file holds a {Describe(Model.Kind)}, not a Locally Masked PixelCNN++; use Model or PixelCnnPlusPlus.");

    /// <summary>The model as a PixelCNN++ baseline.</summary>
    /// <exception cref="InvalidOperationException">The file holds a Locally Masked PixelCNN++.</exception>
    public PixelCnnPlusPlus PixelCnnPlusPlus => Model as PixelCnnPlusPlus
        ?? throw new InvalidOperationException($"The file holds a {Describe(Model.Kind)}, not a PixelCNN++ baseline; use Model or LocallyMaskedPixelCnn.");

    /// <summary>Whether the file records how the model was configured (a training checkpoint, or the reference code's <c>args</c>).</summary>
    public bool ConfigurationRecorded => Metadata is not null || Orders is not null;

    /// <summary>Disposes the model.</summary>
    public void Dispose() => Model.Dispose();

    private static string Describe(ModelKind kind) => ModelCatalog.Get(kind).Description;
}
