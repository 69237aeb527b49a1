using LocallyMasked.Masks;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// The masks of the orders a model has used, on the model's device and dtype: built once per order (a batch with one
/// order per image stacks them), rebuilt when the model has moved, at most <see cref="Capacity"/> orders (the oldest
/// leaves first). Safe to use from several threads.
/// </summary>
internal sealed class OrderMaskCache
{
    /// <summary>Most orders kept.</summary>
    internal const int Capacity = 256;

    private readonly Dictionary<GenerationOrder, MaskSet> _sets = new();
    private readonly Queue<GenerationOrder> _age = new();

    /// <summary>The masks of an order for the given kernel, dilation, dtype and device; they belong to the cache.</summary>
    public MaskSet For(GenerationOrder order, int kernelSize, int dilation, ScalarType dtype, Device device)
    {
        lock (_sets)
        {
            if (_sets.Count > 0)
            {
                var any = _sets.Values.First();
                if (any.DType != dtype || !DeviceEquality.Same(any.Device, device)) ClearLocked(dispose: false);
            }
            if (_sets.TryGetValue(order, out var cached)) return cached;
            var set = MaskSet.Create(order, kernelSize, dilation, dtype, device).DetachFromDisposeScopes();
            if (_sets.Count >= Capacity)
            {
                // The evicted set is not disposed: a caller may still hold it; the finalizer frees it.
                _sets.Remove(_age.Dequeue());
            }
            _sets.Add(order, set);
            _age.Enqueue(order);
            return set;
        }
    }

    /// <summary>Drops the masks (callers that still hold a set keep it; the finalizer frees it).</summary>
    public void Clear()
    {
        lock (_sets) ClearLocked(dispose: false);
    }

    /// <summary>Frees the masks' tensors and empties the cache.</summary>
    public void DisposeAll()
    {
        lock (_sets) ClearLocked(dispose: true);
    }

    private void ClearLocked(bool dispose)
    {
        if (dispose)
        {
            foreach (var set in _sets.Values)
            {
                set.First.Dispose();
                set.Undilated.Dispose();
                set.Dilated.Dispose();
            }
        }
        _sets.Clear();
        _age.Clear();
    }
}
