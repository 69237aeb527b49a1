using System.Text.Json.Nodes;
using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The plain-data part of a training checkpoint: where training stands, how it was configured, and which orders it
/// trains. Stored as JSON at the start of the checkpoint file, so it can be read without building a model.
/// </summary>
public sealed record CheckpointMetadata
{
    /// <summary>
    /// The file-format version this library writes: 3 (ends with a SHA-256 checksum of the whole file, verified on every
    /// read). Format 2 added <see cref="TrainingImages"/> and the options' decay unit. Files of formats 1 and 2 carry no
    /// checksum and still load, unverified.
    /// </summary>
    public const int CurrentFormat = 3;

    /// <summary>The oldest file-format version this library reads (format 1 files resume with per-step decay).</summary>
    public const int OldestReadableFormat = 1;

    /// <summary>The file-format version.</summary>
    public int Format { get; init; } = CurrentFormat;

    /// <summary>Number of training images (it fixes the batches of every epoch); 0 when unknown (format 1).</summary>
    public int TrainingImages { get; init; }

    /// <summary>Training steps completed.</summary>
    public long Step { get; init; }

    /// <summary>
    /// The trainer's settings as the trainer wrote them (JSON): the LocallyMasked.Training package reads them back to
    /// resume; loading a model does not need them.
    /// </summary>
    public JsonObject? Options { get; init; }

    /// <summary>Image height of the orders.</summary>
    public int Height { get; init; }

    /// <summary>Image width of the orders.</summary>
    public int Width { get; init; }

    /// <summary>The order set, each order as its pixel sequence.</summary>
    public IReadOnlyList<int[]> OrderSequences { get; init; } = Array.Empty<int[]>();

    /// <summary>The model's type name (<see cref="ModelDefinition.TypeName"/>; empty in format-1 files, which hold a Locally Masked PixelCNN++).</summary>
    public string ModelType { get; init; } = string.Empty;

    /// <summary>The model's configuration, serialized as JSON by the code that built the model.</summary>
    public string ModelConfiguration { get; init; } = string.Empty;

    /// <summary>Reads the metadata of a training checkpoint without loading its tensors.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint of this library, or its metadata is corrupt.</exception>
    public static CheckpointMetadata Read(string path) => TrainingCheckpointFile.ReadMetadata(path);

    /// <summary>The model the checkpoint holds, as <see cref="ModelCatalog"/> knows it (from <see cref="ModelType"/>).</summary>
    /// <exception cref="InvalidDataException">The recorded type is not a model of this library; the message names it.</exception>
    public ModelDefinition Definition() => ModelCatalog.ForRecordedType(ModelType);

    /// <summary>The recorded configuration (<see cref="ModelConfiguration"/>), read by the model's catalog entry and validated.</summary>
    /// <exception cref="InvalidDataException">The recorded type is unknown, or the configuration is missing or invalid; the message says which.</exception>
    public IImageModelConfig ReadConfiguration() => Definition().ReadConfiguration(ModelConfiguration);

    /// <summary>The order set as orders.</summary>
    public IReadOnlyList<GenerationOrder> Orders() =>
        OrderSequences.Select(s => GenerationOrder.FromSequence(Height, Width, s)).ToArray();
}
