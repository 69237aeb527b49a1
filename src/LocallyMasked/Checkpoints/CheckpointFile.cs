using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The training checkpoint format: a header, the metadata as JSON, the model's state, the optimizer's state, the
/// optional moving average of the weights, torch's CPU random state, and an end marker (so that a truncated file is
/// recognised). From format 3 on, a trailer follows: <see cref="ChecksumTag"/> and the SHA-256 of every byte before it,
/// verified on every read before anything is parsed, so a bit-flipped or truncated file is rejected with its name.
/// Files are written atomically through <see cref="AtomicFile"/>; tensors are loaded in place, so that
/// parameters keep their identity (the optimizer's state is keyed by them) and their device.
/// </summary>
internal static class CheckpointFile
{
    private const string Magic = "LocallyMasked.Checkpoint";
    private const string EndMarker = "LocallyMasked.End";

    /// <summary>The 8 bytes that open the checksum trailer (format 3 and later).</summary>
    private static ReadOnlySpan<byte> ChecksumTag => "LMSHA256"u8;

    private const int TrailerLength = 8 + 32;

    /// <summary>The first format whose files end with the checksum trailer.</summary>
    private const int FirstChecksummedFormat = 3;

    /// <summary>What a checkpoint holds besides the metadata.</summary>
    /// <param name="Model">The model whose state is written or loaded.</param>
    /// <param name="Optimizer">The optimizer (Adam), or null to skip it.</param>
    /// <param name="Average">The moving average of the weights by parameter name, or null.</param>
    public readonly record struct Parts(Module Model, optim.Optimizer? Optimizer, IReadOnlyDictionary<string, Tensor>? Average);

    /// <summary>Writes a checkpoint to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file; an existing one is replaced only once the new one is complete.</param>
    /// <param name="metadata">The metadata.</param>
    /// <param name="parts">The model, optimizer and average.</param>
    public static void Save(string path, CheckpointMetadata metadata, Parts parts) =>
        AtomicFile.Write(path, stream => Write(stream, metadata, parts));

    /// <summary>Writes a checkpoint to a stream.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="metadata">The metadata.</param>
    /// <param name="parts">The model, optimizer and average.</param>
    public static void Write(Stream stream, CheckpointMetadata metadata, Parts parts)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(parts.Model);
        using var hashing = new HashingStream(stream);
        WriteContent(hashing, metadata, parts);
        // The trailer: the tag and the SHA-256 of everything before it.
        stream.Write(ChecksumTag);
        stream.Write(hashing.Hash());
        stream.Flush();
    }

    private static void WriteContent(Stream stream, CheckpointMetadata metadata, Parts parts)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(JsonSerializer.Serialize(metadata));
        WriteTensors(writer, parts.Model.state_dict());
        writer.Write(parts.Optimizer is not null);
        if (parts.Optimizer is not null)
        {
            // Length-prefixed, so that a reader without an optimizer can skip TorchSharp's own format.
            var buffer = new MemoryStream();
            using (var inner = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) OptimizerState(parts.Optimizer).save_state_dict(inner);
            writer.Write(buffer.Length);
            buffer.Position = 0;
            buffer.CopyTo(writer.BaseStream);
        }
        writer.Write(parts.Average is not null);
        if (parts.Average is not null) WriteTensors(writer, parts.Average);
        using (var generator = torch.Generator.Default)
        using (var rng = generator.get_state())
        {
            var bytes = rng.data<byte>().ToArray();
            writer.Write(bytes.Length);
            writer.Write(bytes);
        }
        writer.Write(EndMarker);
        writer.Flush();
    }

    /// <summary>Whether <paramref name="path"/> starts like a training checkpoint written by this class.</summary>
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
    public static CheckpointMetadata ReadMetadata(string path)
    {
        using var reader = Open(path);
        return ReadHeader(reader, path);
    }

    /// <summary>
    /// Loads a checkpoint into an existing model (and optimizer and average, when given), in place, and restores torch's
    /// CPU random state when <paramref name="restoreRandomState"/> is set. The whole file is read and checked against
    /// the targets (structure, tensor names, shapes and dtypes, end marker) before anything is changed, so a truncated,
    /// corrupt or mismatched file leaves the model, optimizer and average as they were.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="parts">Where to load: the model (required), the optimizer and the average (each optional).</param>
    /// <param name="restoreRandomState">Whether to restore torch's CPU generator (exact resumption of dropout).</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint for these targets.</exception>
    public static CheckpointMetadata Load(string path, Parts parts, bool restoreRandomState = false) =>
        Load(path, parts, restoreRandomState, accept: null);

    /// <summary>
    /// As <see cref="Load(string, Parts, bool)"/>, with <paramref name="accept"/> called on the metadata before anything
    /// is changed (it throws to refuse the file).
    /// </summary>
    internal static CheckpointMetadata Load(string path, Parts parts, bool restoreRandomState, Action<CheckpointMetadata>? accept)
    {
        ArgumentNullException.ThrowIfNull(parts.Model);
        var bytes = ReadVerified(path);
        using (var check = Reader(bytes))
            accept?.Invoke(Read(check, path, parts, apply: false, restoreRandomState));

        // What the checking pass cannot see (an optimizer state that does not fit the optimizer) surfaces while
        // applying: the targets are then put back as they were.
        using var snapshot = Snapshot.Take(parts);
        try
        {
            using var reader = Reader(bytes);
            return Read(reader, path, parts, apply: true, restoreRandomState);
        }
        catch
        {
            snapshot.Restore(parts);
            throw;
        }
    }

    private static CheckpointMetadata Read(BinaryReader reader, string path, Parts parts, bool apply, bool restoreRandomState)
    {
        try
        {
            var metadata = ReadHeader(reader, path);
            ReadTensorsInto(reader, parts.Model.state_dict(), path, "model", apply);
            bool hasOptimizer = reader.ReadBoolean();
            if (hasOptimizer)
            {
                long length = reader.ReadInt64();
                if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
                var bytes = reader.ReadBytes(checked((int)length));
                if (parts.Optimizer is not null && apply)
                {
                    using var inner = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
                    try
                    {
                        OptimizerState(parts.Optimizer).load_state_dict(inner);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException or ExternalException)
                    {
                        throw new InvalidDataException($"{path}: the optimizer state does not match the optimizer ({e.Message}).", e);
                    }
                }
            }
            else if (parts.Optimizer is not null)
                throw new InvalidDataException($"{path}: holds no optimizer state, so training cannot resume from it.");
            bool hasAverage = reader.ReadBoolean();
            if (hasAverage)
            {
                var target = parts.Average?.ToDictionary(kv => kv.Key, kv => kv.Value);
                if (target is not null) ReadTensorsInto(reader, target, path, "weight average", apply);
                else SkipTensors(reader, path, "weight average");
            }
            int rngLength = reader.ReadInt32();
            var rng = reader.ReadBytes(rngLength);
            if (rng.Length != rngLength) throw new EndOfStreamException();
            if (reader.ReadString() != EndMarker) throw new InvalidDataException($"{path}: the end marker is missing (corrupt file).");
            if (reader.BaseStream.Position != reader.BaseStream.Length)
                throw new InvalidDataException($"{path}: unexpected bytes after the end marker (corrupt file).");
            if (restoreRandomState && apply)
            {
                using var state = tensor(rng, ScalarType.Byte);
                using var generator = torch.Generator.Default;
                generator.set_state(state);
            }
            return metadata;
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

    /// <summary>Whether a checkpoint holds a moving average of the weights (read from the file's structure, nothing allocated).</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint.</exception>
    public static bool HasWeightAverage(string path)
    {
        using var reader = Open(path);
        try
        {
            ReadHeader(reader, path);
            SkipTensors(reader, path, "model");
            if (reader.ReadBoolean())
            {
                long length = reader.ReadInt64();
                if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
                reader.BaseStream.Seek(length, SeekOrigin.Current);
            }
            return reader.ReadBoolean();
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }

    /// <summary>Reads the model tensors of a checkpoint as new CPU tensors, by name (for averaging checkpoints).</summary>
    /// <param name="path">The checkpoint file.</param>
    public static Dictionary<string, Tensor> ReadModelTensors(string path)
    {
        using var reader = Open(path);
        try
        {
            ReadHeader(reader, path);
            int count = reader.ReadInt32();
            var result = new Dictionary<string, Tensor>();
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                var t = TensorExtensionMethods.Load(reader);
                t.DetachFromDisposeScope();
                result[name] = t;
            }
            return result;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated checkpoint.", e);
        }
    }

    private static BinaryReader Open(string path) => Reader(ReadVerified(path));

    /// <summary>A file's bytes up to its checksum trailer, and whether it had one (then it matched).</summary>
    private readonly record struct Contents(byte[] Bytes, int Length, bool Checksummed);

    // The whole file is read first: TorchSharp's tensor reader expects every byte to be there. The checksum is verified
    // here, before any byte is interpreted. Files of formats 1 and 2 have no trailer and are read unverified (their end
    // marker and the absence of trailing bytes are still checked); ReadHeader refuses a format-3 file without one.
    private static Contents ReadVerified(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        var bytes = File.ReadAllBytes(path);
        int length = bytes.Length;
        if (length < TrailerLength || !bytes.AsSpan(length - TrailerLength, ChecksumTag.Length).SequenceEqual(ChecksumTag))
            return new Contents(bytes, length, false);
        length -= TrailerLength;
        if (!SHA256.HashData(bytes.AsSpan(0, length)).AsSpan().SequenceEqual(bytes.AsSpan(length + ChecksumTag.Length)))
            throw new InvalidDataException($"{path}: checksum mismatch, the file was changed or damaged after it was written; use another checkpoint.");
        return new Contents(bytes, length, true);
    }

    private static BinaryReader Reader(Contents contents) =>
        new(new ChecksumAwareStream(contents.Bytes, contents.Length, contents.Checksummed), Encoding.UTF8);

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
            if (metadata.Format >= FirstChecksummedFormat && !(reader.BaseStream is ChecksumAwareStream { Checksummed: true }))
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

    private static void WriteTensors(BinaryWriter writer, IReadOnlyDictionary<string, Tensor> tensors)
    {
        writer.Write(tensors.Count);
        foreach (var (name, value) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.Write(name);
            value.Save(writer);
        }
    }

    private static void ReadTensorsInto(BinaryReader reader, IDictionary<string, Tensor> target, string path, string what, bool apply)
    {
        int count = reader.ReadInt32();
        if (count != target.Count)
            throw new InvalidDataException($"{path}: the {what} has {count} tensors; the target has {target.Count}.");
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            if (!target.TryGetValue(name, out var destination))
                throw new InvalidDataException($"{path}: the {what} tensor '{name}' does not exist in the target.");
            if (apply)
            {
                try
                {
                    destination.Load(reader);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{path}: the {what} tensor '{name}' does not match the target ({e.Message}).", e);
                }
                continue;
            }

            // Checking pass: compare the stored header with the target and skip the data, allocating nothing, so that
            // a corrupt header cannot ask for an absurd tensor.
            var (dtype, shape) = ReadTensorHeader(reader, path, what, name);
            if (dtype != destination.dtype || !shape.SequenceEqual(destination.shape))
                throw new InvalidDataException(
                    $"{path}: the {what} tensor '{name}' is {dtype} [{string.Join(", ", shape)}]; the target is {destination.dtype} [{string.Join(", ", destination.shape)}].");
            SkipData(reader, dtype, shape);
        }
    }

    /// <summary>
    /// Checks that the tensor at the reader's position has a valid header and that the stream holds all its data, then
    /// puts the position back: TorchSharp's own reader hands a corrupt header to libtorch, whose errors are unreadable.
    /// </summary>
    internal static void CheckTensorFits(BinaryReader reader, string path, string what, string name)
    {
        long start = reader.BaseStream.Position;
        try
        {
            var (dtype, shape) = ReadTensorHeader(reader, path, what, name);
            SkipData(reader, dtype, shape);
        }
        catch (Exception e) when (e is EndOfStreamException or OverflowException)
        {
            throw new InvalidDataException($"{path}: the {what} tensor '{name}' is cut short or has a corrupt size.", e);
        }
        reader.BaseStream.Position = start;
    }

    /// <summary>Skips a tensor's data after its header, checking that the file holds it.</summary>
    private static void SkipData(BinaryReader reader, ScalarType dtype, long[] shape)
    {
        long elementSize;
        using (var probe = empty(0, dtype)) elementSize = probe.ElementSize;
        long dataBytes = shape.Aggregate(elementSize, (bytes, size) => checked(bytes * size));
        if (dataBytes > reader.BaseStream.Length - reader.BaseStream.Position) throw new EndOfStreamException();
        reader.BaseStream.Seek(dataBytes, SeekOrigin.Current);
    }

    /// <summary>The element type and shape at the start of a tensor in TorchSharp's format (LEB128 integers).</summary>
    private static (ScalarType DType, long[] Shape) ReadTensorHeader(BinaryReader reader, string path, string what, string name)
    {
        long type = ReadLeb128(reader);
        long rank = ReadLeb128(reader);
        if (type < 0 || type > sbyte.MaxValue || !Enum.IsDefined(typeof(ScalarType), (sbyte)type) || rank < 0 || rank > 64)
            throw new InvalidDataException($"{path}: the {what} tensor '{name}' has a corrupt header (type {type}, {rank} dimensions).");
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = ReadLeb128(reader);
        return ((ScalarType)(sbyte)type, shape);
    }

    private static long ReadLeb128(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (shift > 63) throw new InvalidDataException("A corrupt variable-length integer.");
            byte b = reader.ReadByte();
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }

    private static void SkipTensors(BinaryReader reader, string path, string what)
    {
        int count = reader.ReadInt32();
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            var (dtype, shape) = ReadTensorHeader(reader, path, what, name);
            SkipData(reader, dtype, shape);
        }
    }

    /// <summary>Copies of what <see cref="Load(string, Parts, bool)"/> overwrites, to put back when applying fails.</summary>
    private sealed class Snapshot : IDisposable
    {
        private readonly List<(Tensor Target, Tensor Copy)> tensors = new();
        private byte[]? optimizerState;

        public static Snapshot Take(Parts parts)
        {
            var snapshot = new Snapshot();
            using (no_grad())
            {
                var targets = parts.Model.state_dict().Values.Concat(parts.Average?.Values ?? Enumerable.Empty<Tensor>());
                foreach (var target in targets)
                    snapshot.tensors.Add((target, target.detach().clone().DetachFromDisposeScope()));
            }
            if (parts.Optimizer is not null)
            {
                var buffer = new MemoryStream();
                using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) OptimizerState(parts.Optimizer).save_state_dict(writer);
                snapshot.optimizerState = buffer.ToArray();
            }
            return snapshot;
        }

        public void Restore(Parts parts)
        {
            using (no_grad())
                foreach (var (target, copy) in tensors) target.copy_(copy);
            if (parts.Optimizer is not null && optimizerState is not null)
            {
                using var reader = new BinaryReader(new MemoryStream(optimizerState), Encoding.UTF8);
                OptimizerState(parts.Optimizer).load_state_dict(reader);
            }
        }

        public void Dispose()
        {
            foreach (var (_, copy) in tensors) copy.Dispose();
        }
    }

    /// <summary>The readable part of a file (before its trailer), knowing whether a checksum vouched for it.</summary>
    private sealed class ChecksumAwareStream(byte[] bytes, int length, bool checksummed) : MemoryStream(bytes, 0, length, writable: false)
    {
        public bool Checksummed { get; } = checksummed;
    }

    /// <summary>Forwards writes to a stream and hashes them (SHA-256).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Hash() => hash.GetHashAndReset();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void WriteByte(byte value) => Write(new[] { value });

        protected override void Dispose(bool disposing)
        {
            if (disposing) hash.Dispose();
            base.Dispose(disposing);
        }
    }

    private static TorchSharp.Modules.OptimizerHelper OptimizerState(optim.Optimizer optimizer) =>
        optimizer as TorchSharp.Modules.OptimizerHelper
        ?? throw new ArgumentException($"Expected a TorchSharp managed optimizer such as Adam, got {optimizer.GetType().Name}.", nameof(optimizer));
}
