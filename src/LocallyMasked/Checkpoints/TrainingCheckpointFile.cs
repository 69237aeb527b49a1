using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The training checkpoint file (<see cref="CheckpointFormat.Training"/>): a header, the metadata as JSON, the model's
/// tensors, the optimizer's state (length-prefixed), the optional moving average of the weights, the generator state,
/// an end marker (so that a truncated file is recognised), and from format 3 on a SHA-256 trailer verified on every read
/// before anything is parsed. This is the one definition of the layout: <see cref="PixelCnnCheckpoint.LoadModel"/> reads
/// a model from it, and the training package (LocallyMasked.Training) writes it and resumes from it, giving the optimizer
/// and generator sections (<see cref="TrainingCheckpointSections"/>, opaque bytes here) their meaning. Files are written
/// atomically; tensors are loaded in place, so that parameters keep their identity (an optimizer's state is keyed by
/// them) and their device.
/// </summary>
public static class TrainingCheckpointFile
{
    private const string Magic = "LocallyMasked.Checkpoint";
    private const string EndMarker = "LocallyMasked.End";

    /// <summary>The first format whose files end with the checksum trailer.</summary>
    private const int FirstChecksummedFormat = 3;

    /// <summary>Writes a checkpoint to <paramref name="path"/> atomically (a temporary file, then a rename).</summary>
    /// <param name="path">The target file; an existing one is replaced only once the new one is complete.</param>
    /// <param name="sections">The metadata and the trainer's sections.</param>
    /// <param name="model">The model's state dict.</param>
    /// <param name="average">The moving average of the weights by parameter name, or null.</param>
    public static void Save(string path, TrainingCheckpointSections sections, IReadOnlyDictionary<string, Tensor> model,
        IReadOnlyDictionary<string, Tensor>? average) =>
        AtomicFile.Write(path, stream => Write(stream, sections, model, average));

    /// <summary>Writes a checkpoint to a stream, checksum trailer included.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="sections">The metadata and the trainer's sections.</param>
    /// <param name="model">The model's state dict.</param>
    /// <param name="average">The moving average of the weights by parameter name, or null.</param>
    public static void Write(Stream stream, TrainingCheckpointSections sections, IReadOnlyDictionary<string, Tensor> model,
        IReadOnlyDictionary<string, Tensor>? average)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentNullException.ThrowIfNull(sections.Metadata, nameof(sections));
        ArgumentNullException.ThrowIfNull(sections.GeneratorState, nameof(sections));
        ArgumentNullException.ThrowIfNull(model);
        ChecksumTrailer.WriteWith(stream, content =>
        {
            using var writer = new BinaryWriter(content, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(sections.Metadata));
            TensorRecords.WriteNamed(writer, model);
            writer.Write(sections.OptimizerState is not null);
            if (sections.OptimizerState is { } optimizer)
            {
                // Length-prefixed, so that a reader without an optimizer can skip it.
                writer.Write((long)optimizer.Length);
                writer.Write(optimizer);
            }
            writer.Write(average is not null);
            if (average is not null) TensorRecords.WriteNamed(writer, average);
            writer.Write(sections.GeneratorState.Length);
            writer.Write(sections.GeneratorState);
            writer.Write(EndMarker);
            writer.Flush();
        });
    }

    /// <summary>Whether <paramref name="path"/> starts like a training checkpoint.</summary>
    /// <param name="path">Any existing file.</param>
    public static bool IsTrainingCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            return reader.ReadString() == Magic;
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or IOException)
        {
            return false;
        }
    }

    /// <summary>Reads only the metadata of a checkpoint (to build the right model before loading it).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a training checkpoint, fails its checksum, or its metadata is corrupt.</exception>
    public static CheckpointMetadata ReadMetadata(string path)
    {
        using var reader = Open(path);
        return ReadHeader(reader, path);
    }

    /// <summary>
    /// Loads a checkpoint into existing tensors, in place, all or nothing: the whole file is read and checked against the
    /// targets first (structure, tensor names, shapes and dtypes, end marker), then <paramref name="accept"/> sees what
    /// it holds, and only then are the tensors changed and <paramref name="apply"/> called. If applying fails, in the
    /// tensors or in <paramref name="apply"/>, the tensors are put back as they were.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model's state dict.</param>
    /// <param name="average">The moving average to load into, or null to skip the file's.</param>
    /// <param name="accept">Called after the checks, before anything changes; throws to refuse the file. Null accepts it.</param>
    /// <param name="apply">Called after the tensors are loaded, to load what the trainer's sections hold; throws to roll
    /// the tensors back (it puts back whatever else it changed). Null for none.</param>
    /// <returns>The metadata and the trainer's sections.</returns>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint for these targets.</exception>
    public static TrainingCheckpointSections Load(string path, IReadOnlyDictionary<string, Tensor> model, IReadOnlyDictionary<string, Tensor>? average,
        Action<TrainingCheckpointSections>? accept = null, Action<TrainingCheckpointSections>? apply = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var contents = ChecksumTrailer.ReadVerified(path);
        TrainingCheckpointSections sections;
        using (var check = ChecksumTrailer.Reader(contents))
            sections = Read(check, path, model, average, applyTensors: false);
        accept?.Invoke(sections);

        var targets = model.Values.Concat(average?.Values ?? Enumerable.Empty<Tensor>()).ToArray();
        var copies = new List<Tensor>(targets.Length);
        try
        {
            using (no_grad())
                foreach (var target in targets) copies.Add(target.detach().clone().DetachFromDisposeScope());
            using (var reader = ChecksumTrailer.Reader(contents))
                Read(reader, path, model, average, applyTensors: true);
            apply?.Invoke(sections);
            return sections;
        }
        catch
        {
            using (no_grad())
                for (int i = 0; i < copies.Count; i++) targets[i].copy_(copies[i]);
            throw;
        }
        finally
        {
            foreach (var copy in copies) copy.Dispose();
        }
    }

    /// <summary>Whether a checkpoint holds a moving average of the weights (read from the file's structure, nothing allocated).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint.</exception>
    public static bool HasWeightAverage(string path)
    {
        using var reader = Open(path);
        try
        {
            ReadHeader(reader, path);
            TensorRecords.SkipNamed(reader, path, "model");
            SkipOptimizerState(reader);
            return reader.ReadBoolean();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }

    /// <summary>Reads the model tensors of a checkpoint as new CPU tensors, by name, owned by the caller (for averaging checkpoints).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint.</exception>
    public static Dictionary<string, Tensor> ReadModelTensors(string path)
    {
        using var reader = Open(path);
        try
        {
            ReadHeader(reader, path);
            return TensorRecords.ReadNamed(reader, path, "model");
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }

    /// <summary>The metadata, and the element type the model's floating-point tensors were saved in (null when it has none), in one read.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint.</exception>
    internal static (CheckpointMetadata Metadata, ScalarType? ModelType) ReadMetadataAndModelType(string path)
    {
        using var reader = Open(path);
        try
        {
            var metadata = ReadHeader(reader, path);
            return (metadata, TensorRecords.FirstFloatingPointType(reader, path, "model"));
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }

    private static TrainingCheckpointSections Read(BinaryReader reader, string path, IReadOnlyDictionary<string, Tensor> model,
        IReadOnlyDictionary<string, Tensor>? average, bool applyTensors)
    {
        try
        {
            var metadata = ReadHeader(reader, path);
            TensorRecords.ReadNamedInto(reader, model, path, "model", applyTensors);
            byte[]? optimizer = null;
            if (reader.ReadBoolean())
            {
                long length = reader.ReadInt64();
                if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
                optimizer = reader.ReadBytes(checked((int)length));
            }
            if (reader.ReadBoolean())
            {
                if (average is not null) TensorRecords.ReadNamedInto(reader, average, path, "weight average", applyTensors);
                else TensorRecords.SkipNamed(reader, path, "weight average");
            }
            int generatorLength = reader.ReadInt32();
            if (generatorLength < 0) throw new InvalidDataException($"{path}: corrupt checkpoint (a negative generator-state length).");
            var generator = reader.ReadBytes(generatorLength);
            if (generator.Length != generatorLength) throw new EndOfStreamException();
            if (reader.ReadString() != EndMarker) throw new InvalidDataException($"{path}: the end marker is missing (corrupt file).");
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException($"{path}: unexpected bytes after the end marker (corrupt file).");
            return new TrainingCheckpointSections(metadata, optimizer, generator);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"{path}: corrupt checkpoint (a tensor's size does not fit in the file).", e);
        }
    }

    private static void SkipOptimizerState(BinaryReader reader)
    {
        if (!reader.ReadBoolean()) return;
        long length = reader.ReadInt64();
        if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
        reader.BaseStream.Seek(length, SeekOrigin.Current);
    }

    private static BinaryReader Open(string path) => ChecksumTrailer.Reader(ChecksumTrailer.ReadVerified(path));

    private static CheckpointMetadata ReadHeader(BinaryReader reader, string path)
    {
        string magic;
        try { magic = reader.ReadString(); }
        catch (Exception e) when (e is EndOfStreamException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a LocallyMasked training checkpoint (unreadable header).", e);
        }
        if (magic != Magic) throw new InvalidDataException($"{path}: not a LocallyMasked training checkpoint (wrong header).");
        try
        {
            var metadata = JsonSerializer.Deserialize<CheckpointMetadata>(reader.ReadString())
                ?? throw new InvalidDataException($"{path}: empty checkpoint metadata.");
            if (metadata.Format < CheckpointMetadata.OldestReadableFormat || metadata.Format > CheckpointMetadata.CurrentFormat)
                throw new InvalidDataException(
                    $"{path}: checkpoint format {metadata.Format}; this library reads formats {CheckpointMetadata.OldestReadableFormat} to {CheckpointMetadata.CurrentFormat}.");
            if (metadata.Format >= FirstChecksummedFormat && !ChecksumTrailer.Verified(reader))
                throw new InvalidDataException($"{path}: the checksum is missing (truncated or damaged file); use another checkpoint.");
            return metadata;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: corrupt checkpoint metadata ({e.Message}).", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }
}
