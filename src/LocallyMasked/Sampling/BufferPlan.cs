namespace LocallyMasked.Sampling;

/// <summary>
/// Where an evaluator writes each hook call's result, planned once from the wiring's trace so that a step touches little
/// memory: a buffer is reused as soon as no later call reads the value it held, and a call that is the last to read an
/// input may write over it. Values keep their meaning: nothing is overwritten while a later call still reads it.
/// </summary>
internal sealed class BufferPlan
{
    private readonly bool[][] _overwritable;

    private BufferPlan(int[] buffers, bool[] inPlace, bool[][] overwritable, long[] widths)
    {
        BufferOf = buffers;
        InPlace = inPlace;
        _overwritable = overwritable;
        Widths = widths;
    }

    /// <summary>Per call: the buffer its result is written to, or -1 (in place, an alias, deferred, or made elsewhere).</summary>
    public IReadOnlyList<int> BufferOf { get; }

    /// <summary>Per call: whether its result is written over its first input.</summary>
    public IReadOnlyList<bool> InPlace { get; }

    /// <summary>The channels of each buffer.</summary>
    public IReadOnlyList<long> Widths { get; }

    /// <summary>Whether call <paramref name="call"/> may write over its input at <paramref name="position"/>: no later call reads it and it is not the network's input.</summary>
    public bool Overwritable(int call, int position) => _overwritable[call][position];

    /// <summary>Plans the buffers of a trace.</summary>
    /// <param name="trace">The wiring's hook calls.</param>
    /// <param name="placement">How the evaluator produces the result of each call (by index).</param>
    /// <param name="readsFirstInputOf">Per call, the deferred calls whose first input it reads when it computes their
    /// value (a deferred value is computed by the calls that read it, from the deferred call's first input).</param>
    public static BufferPlan Of(WiringTrace trace, Func<int, Placement> placement, Func<int, IEnumerable<int>> readsFirstInputOf)
    {
        var calls = trace.Calls;
        int count = calls.Count;
        var placements = Enumerable.Range(0, count).Select(placement).ToArray();
        // What each call reads: its inputs, and the first inputs of the deferred values it computes.
        var reads = new int[count][];
        for (int k = 0; k < count; k++)
            reads[k] = calls[k].Inputs.Concat(readsFirstInputOf(k).Select(d => calls[d].Inputs[0])).Where(i => i >= 0).Distinct().ToArray();
        var lastRead = Enumerable.Repeat(-1, count).ToArray();
        for (int k = 0; k < count; k++)
            foreach (int input in reads[k]) lastRead[input] = Math.Max(lastRead[input], k);

        // Storage: a buffer (>= 0), a result made elsewhere (-2 - call), or none that may be written (-1: the network's
        // input and deferred values).
        var storage = new int[count];
        var storageEnd = new Dictionary<int, int>();
        var buffers = Enumerable.Repeat(-1, count).ToArray();
        var inPlace = new bool[count];
        var overwritable = new bool[count][];
        var widths = new List<long>();
        var free = new Dictionary<long, Stack<int>>();
        int StorageOf(int producer) => producer < 0 ? -1 : storage[producer];

        for (int k = 0; k < count; k++)
        {
            var call = calls[k];
            overwritable[k] = call.Inputs.Select(i => StorageOf(i) != -1 && storageEnd[StorageOf(i)] == k).ToArray();
            int first = call.Inputs.Length > 0 ? StorageOf(call.Inputs[0]) : -1;
            switch (placements[k])
            {
                case Placement.Alias:
                    storage[k] = first;
                    break;
                case Placement.Deferred:
                    storage[k] = -1;
                    break;
                case Placement.Elsewhere:
                    storage[k] = -2 - k;
                    break;
                case Placement.BufferOrInPlace when overwritable[k][0]:
                    storage[k] = first;
                    inPlace[k] = true;
                    break;
                default:
                    if (free.TryGetValue(call.Channels, out var stack) && stack.Count > 0)
                    {
                        storage[k] = stack.Pop();
                    }
                    else
                    {
                        widths.Add(call.Channels);
                        storage[k] = widths.Count - 1;
                    }
                    buffers[k] = storage[k];
                    break;
            }
            if (storage[k] != -1) storageEnd[storage[k]] = Math.Max(storageEnd.GetValueOrDefault(storage[k], k), Math.Max(k, lastRead[k]));

            // Buffers read for the last time by this call (or holding its result, when nothing reads it) are free for
            // the calls after it.
            foreach (int held in reads[k].Select(StorageOf).Append(storage[k]).Distinct())
            {
                if (held < 0 || storageEnd[held] != k) continue;
                if (!free.TryGetValue(widths[held], out var stack)) free[widths[held]] = stack = new Stack<int>();
                stack.Push(held);
            }
        }
        return new BufferPlan(buffers, inPlace, overwritable, widths.ToArray());
    }
}

/// <summary>How an evaluator produces a hook call's result.</summary>
internal enum Placement
{
    /// <summary>It is the first input itself (an identity).</summary>
    Alias,

    /// <summary>Not computed by the call: the calls that read it compute it from the call's first input.</summary>
    Deferred,

    /// <summary>A new tensor made by the operation (a matrix product's output), which later calls may write over.</summary>
    Elsewhere,

    /// <summary>Into a buffer of the call's width.</summary>
    Buffer,

    /// <summary>Over the first input when no later call reads it, else into a buffer.</summary>
    BufferOrInPlace,
}
