using System.Globalization;
using LocallyMasked.Checkpoints.Pickles;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// What torch.save's pickles mean: a persistent id <c>('storage', torch.FloatStorage, key, location, count)</c> (in the
/// legacy format with a sixth entry, <c>(view_key, offset, view_count)</c> or None, for a view into a root storage) is a
/// storage; <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)</c>, <c>_rebuild_tensor</c> and
/// <c>_rebuild_parameter(tensor, ...)</c> are tensors, kept as <see cref="TensorReference"/>s whose data is read only if
/// the caller needs them. Every other call stays an inert value.
/// </summary>
internal sealed class TorchPickleHost : IPickleHost
{
    /// <summary>The storages the pickle refers to, by key.</summary>
    public Dictionary<string, StorageReference> Storages { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public object? PersistentLoad(object? id)
    {
        if (id is not PickleTuple { Count: >= 5 } parts || parts[0] as string != "storage")
            throw new InvalidDataException($"Unknown persistent id {PickleText.Describe(id)}; torch.save writes ('storage', type, key, location, count).");
        var typeName = parts[1] switch
        {
            PickleGlobal g => g.Name,
            string s => s,
            var other => throw new InvalidDataException($"A storage whose type is {PickleText.Describe(other)}."),
        };
        var key = parts[2] switch
        {
            string s when s.Length is > 0 and <= 256 && !s.Contains('/') => s,
            long l => l.ToString(CultureInfo.InvariantCulture),
            var other => throw new InvalidDataException($"A storage whose key is {PickleText.Describe(other)}."),
        };
        long count = Count(parts[4], $"the element count of storage '{key}'");
        var dtype = TorchStorages.DTypeOf(typeName);
        if (Storages.TryGetValue(key, out var storage))
        {
            if (storage.Count != count || storage.DType != dtype)
                throw new InvalidDataException($"Storage '{key}' is described twice, differently ({storage.Count} and {count} elements).");
        }
        else
        {
            storage = new StorageReference(key, dtype, count);
            _ = storage.Bytes;   // checked: the byte count fits in 64 bits
            Storages[key] = storage;
        }
        if (parts.Count > 5 && parts[5] is PickleTuple { Count: 3 } view)
        {
            long offset = Count(view[1], $"the offset of a view of storage '{key}'");
            long viewCount = Count(view[2], $"the size of a view of storage '{key}'");
            if (checked(offset + viewCount) > count)
                throw new InvalidDataException($"A view of storage '{key}' reaches element {offset + viewCount} of its {count}.");
            return new StorageView(storage, offset, viewCount);
        }
        return new StorageView(storage, 0, count);
    }

    /// <inheritdoc />
    public bool TryReduce(object? callable, PickleTuple arguments, out object? result)
    {
        result = null;
        if (callable is not PickleGlobal { Module: "torch._utils" } function) return false;
        switch (function.Name)
        {
            case "_rebuild_tensor_v2" or "_rebuild_tensor":
                if (arguments.Count < 4 || arguments[0] is not StorageView view)
                    throw new InvalidDataException($"torch._utils.{function.Name} with arguments {PickleText.Describe(arguments)}.");
                long offset = Count(arguments[1], "a tensor's storage offset");
                var shape = Counts(arguments[2], "a tensor's sizes");
                var stride = Counts(arguments[3], "a tensor's strides");
                var tensor = new TensorReference(view.Storage, checked(view.Offset + offset), shape, stride);
                if (shape.All(s => s > 0) && checked(offset + shape.Select((s, i) => (s - 1) * stride[i]).Sum()) >= view.Count)
                    throw new InvalidDataException($"A tensor reaches beyond its view of storage '{view.Storage.Key}'.");
                result = tensor;
                return true;
            case "_rebuild_parameter" or "_rebuild_parameter_with_state":
                result = arguments.Count > 0 && arguments[0] is TensorReference t ? t
                    : throw new InvalidDataException($"torch._utils.{function.Name} with arguments {PickleText.Describe(arguments)}.");
                return true;
            default:
                return false;
        }
    }

    private static long Count(object? value, string what) => value switch
    {
        long l and >= 0 => l,
        bool b => b ? 1 : 0,
        _ => throw new InvalidDataException($"{what} is {PickleText.Describe(value)}, expected a non-negative integer."),
    };

    private static long[] Counts(object? value, string what) => value is PickleTuple or PickleList
        ? ((IEnumerable<object?>)value).Select(v => Count(v, what)).ToArray()
        : throw new InvalidDataException($"{what} are {PickleText.Describe(value)}, expected a tuple of integers.");

    /// <summary>A storage as a tensor sees it: a legacy file's view into a root storage, or the whole storage.</summary>
    private sealed record StorageView(StorageReference Storage, long Offset, long Count);
}
