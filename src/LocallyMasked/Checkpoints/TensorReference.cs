using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// A tensor of a torch.save file before its data is read: a strided view (<c>as_strided</c>) of a storage, checked to
/// lie inside it when built, so that reading it later cannot fail or read out of bounds.
/// </summary>
internal sealed class TensorReference
{
    /// <summary>Checks the view against the storage.</summary>
    /// <param name="storage">The storage.</param>
    /// <param name="offset">The element offset in the storage.</param>
    /// <param name="shape">The sizes.</param>
    /// <param name="stride">The strides, in elements.</param>
    /// <exception cref="InvalidDataException">A negative size, stride or offset, a rank mismatch, or a view beyond the storage.</exception>
    public TensorReference(StorageReference storage, long offset, long[] shape, long[] stride)
    {
        if (shape.Length != stride.Length || shape.Length > 64)
            throw new InvalidDataException($"A tensor of storage '{storage.Key}' has {shape.Length} sizes and {stride.Length} strides.");
        if (offset < 0 || shape.Any(s => s < 0) || stride.Any(s => s < 0))
            throw new InvalidDataException($"A tensor of storage '{storage.Key}' has a negative size, stride or offset.");
        try
        {
            long count = shape.Aggregate(1L, (n, size) => checked(n * size));
            if (count > 0)
            {
                long last = offset;
                for (int i = 0; i < shape.Length; i++) last = checked(last + (shape[i] - 1) * stride[i]);
                if (last >= storage.Count)
                    throw new InvalidDataException(
                        $"A tensor of storage '{storage.Key}' reaches element {last} of its {storage.Count} (shape [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}], offset {offset}).");
            }
        }
        catch (OverflowException e)
        {
            throw new InvalidDataException($"A tensor of storage '{storage.Key}' has sizes whose product does not fit in 64 bits.", e);
        }
        Storage = storage;
        Offset = offset;
        Shape = shape;
        Stride = stride;
    }

    /// <summary>The storage.</summary>
    public StorageReference Storage { get; }

    /// <summary>The element offset in the storage.</summary>
    public long Offset { get; }

    /// <summary>The sizes.</summary>
    public long[] Shape { get; }

    /// <summary>The strides, in elements.</summary>
    public long[] Stride { get; }

    /// <summary>A new contiguous CPU tensor with the view's values (owned by the caller).</summary>
    /// <param name="storage">The storage's data: a one-dimensional tensor of <see cref="StorageReference.Count"/> elements.</param>
    public Tensor Materialize(Tensor storage)
    {
        using var scope = NewDisposeScope();
        return storage.as_strided(Shape, Stride, Offset).contiguous().clone().MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override string ToString() => $"a tensor [{string.Join(", ", Shape)}] of {Storage.DType}";
}
