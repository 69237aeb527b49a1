using LocallyMasked.Checkpoints.Pickles;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>A storage of a torch.save file: its key (its entry in the zip, its place in a legacy file), element type and element count.</summary>
/// <param name="Key">The key.</param>
/// <param name="DType">The element type.</param>
/// <param name="Count">The element count.</param>
internal sealed record StorageReference(string Key, ScalarType DType, long Count)
{
    /// <summary>The storage's size in bytes.</summary>
    public long Bytes => checked(Count * TorchStorages.ElementSize(DType));
}

/// <summary>The storage side of torch.save files: element types and sizes, and reading a storage's bytes.</summary>
internal static class TorchStorages
{
    /// <summary>The element type of a storage class (<c>torch.FloatStorage</c> and the like).</summary>
    /// <param name="name">The class name.</param>
    /// <exception cref="InvalidDataException">A storage class this reader does not know.</exception>
    public static ScalarType DTypeOf(string name) => name switch
    {
        "DoubleStorage" => ScalarType.Float64,
        "FloatStorage" => ScalarType.Float32,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" or "UntypedStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        "ComplexFloatStorage" => ScalarType.ComplexFloat32,
        "ComplexDoubleStorage" => ScalarType.ComplexFloat64,
        _ => throw new InvalidDataException($"Unsupported storage type {PickleText.Quote(name)}."),
    };

    /// <summary>Bytes per element.</summary>
    /// <param name="dtype">An element type of <see cref="DTypeOf"/>.</param>
    public static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.ComplexFloat64 => 16,
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>
    /// Reads a storage's little-endian bytes from a stream into a new one-dimensional CPU tensor, exactly
    /// <see cref="StorageReference.Bytes"/> of them (a short stream is an <see cref="EndOfStreamException"/>). The caller
    /// has checked that the file holds them, so the allocation is bounded by the file.
    /// </summary>
    /// <param name="storage">The storage.</param>
    /// <param name="stream">The data.</param>
    public static Tensor Read(StorageReference storage, Stream stream)
    {
        var data = empty(storage.Count, storage.DType);
        try
        {
            long elementSize = ElementSize(storage.DType);
            long chunk = Math.Max(1, (1L << 26) / elementSize);   // Span lengths are ints: read in pieces of 64 MiB
            for (long start = 0; start < storage.Count; start += chunk)
            {
                long length = Math.Min(chunk, storage.Count - start);
                using var piece = data.narrow(0, start, length);
                stream.ReadExactly(piece.bytes);
            }
        }
        catch
        {
            data.Dispose();
            throw;
        }
        return data;
    }
}
