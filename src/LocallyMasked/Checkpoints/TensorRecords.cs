using LocallyMasked.Checkpoints.Pickles;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Tensors in TorchSharp's binary format (a LEB128 dtype, rank and shape, then the raw data), as the training checkpoint
/// and TorchSharp's weight files hold them: named lists written in key order, read in place into existing tensors, and
/// headers checked against the file's length before TorchSharp's own reader (which hands a corrupt header to libtorch) sees them.
/// </summary>
internal static class TensorRecords
{
    /// <summary>Writes a count, then every tensor as its name and its record, in ordinal order of the names.</summary>
    /// <param name="writer">The destination.</param>
    /// <param name="tensors">The tensors by name.</param>
    public static void WriteNamed(BinaryWriter writer, IReadOnlyDictionary<string, Tensor> tensors)
    {
        writer.Write(tensors.Count);
        foreach (var (name, value) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.Write(name);
            value.Save(writer);
        }
    }

    /// <summary>
    /// Reads a named list written by <see cref="WriteNamed"/> into <paramref name="target"/>: with <paramref name="apply"/>
    /// the values are loaded in place; without, every name, dtype and shape is compared with the target and the data is
    /// skipped, allocating nothing.
    /// </summary>
    /// <param name="reader">The source, at the list's count.</param>
    /// <param name="target">The tensors to load into, by name.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="what">What the list holds ("model", "weight average"), for messages.</param>
    /// <param name="apply">Load (true) or only check (false).</param>
    /// <exception cref="InvalidDataException">A name, dtype or shape does not match the target.</exception>
    public static void ReadNamedInto(BinaryReader reader, IReadOnlyDictionary<string, Tensor> target, string path, string what, bool apply)
    {
        int count = reader.ReadInt32();
        if (count != target.Count)
            throw new InvalidDataException($"{path}: the {what} has {count} tensors; the target has {target.Count}.");
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            if (!target.TryGetValue(name, out var destination))
                throw new InvalidDataException($"{path}: the {what} tensor {PickleText.Quote(name)} does not exist in the target.");
            if (apply)
            {
                try
                {
                    destination.Load(reader);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{path}: the {what} tensor {PickleText.Quote(name)} does not match the target ({e.Message}).", e);
                }
                continue;
            }

            var (dtype, shape) = ReadHeader(reader, path, what, name);
            if (dtype != destination.dtype || !shape.SequenceEqual(destination.shape))
                throw new InvalidDataException(
                    $"{path}: the {what} tensor {PickleText.Quote(name)} is {dtype} [{string.Join(", ", shape)}]; the target is {destination.dtype} [{string.Join(", ", destination.shape)}].");
            SkipData(reader, dtype, shape);
        }
    }

    /// <summary>Reads a named list written by <see cref="WriteNamed"/> as new CPU tensors that belong to the caller.</summary>
    /// <param name="reader">The source, at the list's count.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="what">What the list holds, for messages.</param>
    public static Dictionary<string, Tensor> ReadNamed(BinaryReader reader, string path, string what)
    {
        int count = reader.ReadInt32();
        var result = new Dictionary<string, Tensor>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                CheckFits(reader, path, what, name);
                var t = TensorExtensionMethods.Load(reader);
                t.DetachFromDisposeScope();
                result[name] = t;
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Skips a named list written by <see cref="WriteNamed"/>, checking that the file holds every tensor's data.</summary>
    /// <param name="reader">The source, at the list's count.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="what">What the list holds, for messages.</param>
    public static void SkipNamed(BinaryReader reader, string path, string what)
    {
        int count = reader.ReadInt32();
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            var (dtype, shape) = ReadHeader(reader, path, what, name);
            SkipData(reader, dtype, shape);
        }
    }

    /// <summary>The element type of the first floating-point tensor of a named list, or null when it holds none; the list is skipped.</summary>
    /// <param name="reader">The source, at the list's count.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="what">What the list holds, for messages.</param>
    public static ScalarType? FirstFloatingPointType(BinaryReader reader, string path, string what)
    {
        int count = reader.ReadInt32();
        ScalarType? found = null;
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            var (dtype, shape) = ReadHeader(reader, path, what, name);
            if (found is null && is_floating_point(dtype)) found = dtype;
            SkipData(reader, dtype, shape);
        }
        return found;
    }

    /// <summary>
    /// Checks that the tensor at the reader's position has a valid header and that the stream holds all its data, then
    /// puts the position back.
    /// </summary>
    /// <param name="reader">The source, at a tensor record.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="what">What the file holds, for messages.</param>
    /// <param name="name">The tensor's name, for messages.</param>
    /// <exception cref="InvalidDataException">The header is corrupt or the data cut short.</exception>
    public static void CheckFits(BinaryReader reader, string path, string what, string name)
    {
        long start = reader.BaseStream.Position;
        try
        {
            var (dtype, shape) = ReadHeader(reader, path, what, name);
            SkipData(reader, dtype, shape);
        }
        catch (Exception e) when (e is EndOfStreamException or OverflowException)
        {
            throw new InvalidDataException($"{path}: the {what} tensor {PickleText.Quote(name)} is cut short or has a corrupt size.", e);
        }
        reader.BaseStream.Position = start;
    }

    /// <summary>Unsigned LEB128, the integer encoding of TorchSharp's format.</summary>
    /// <param name="reader">The source.</param>
    /// <exception cref="InvalidDataException">More than 63 bits (the value would not be a non-negative long).</exception>
    public static long ReadLeb128(BinaryReader reader)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = reader.ReadByte();
            // The tenth byte (shift 63) may only end the number with nothing set: bit 63 would make the size negative.
            if (shift > 63 || (shift == 63 && b != 0)) throw new InvalidDataException("A corrupt variable-length integer (more than 63 bits).");
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
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

    /// <summary>The element type and shape at the start of a tensor record.</summary>
    private static (ScalarType DType, long[] Shape) ReadHeader(BinaryReader reader, string path, string what, string name)
    {
        long type = ReadLeb128(reader);
        long rank = ReadLeb128(reader);
        if (type < 0 || type > sbyte.MaxValue || !Enum.IsDefined(typeof(ScalarType), (sbyte)type) || rank < 0 || rank > 64)
            throw new InvalidDataException($"{path}: the {what} tensor {PickleText.Quote(name)} has a corrupt header (type {type}, {rank} dimensions).");
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = ReadLeb128(reader);
        return ((ScalarType)(sbyte)type, shape);
    }
}
