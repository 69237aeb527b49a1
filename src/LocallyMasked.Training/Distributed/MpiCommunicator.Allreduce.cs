using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Distributed;

public sealed partial class MpiCommunicator
{
    private readonly PinnedBuffer<float> floatRows = new();
    private readonly PinnedBuffer<double> doubleRows = new();
    // Send counts and displacements, receive counts and displacements: four arrays of Size in one.
    private readonly PinnedBuffer<int> layout = new();

    /// <summary>
    /// Replaces <paramref name="values"/> on every rank with their element-wise sum over the ranks, added in rank order:
    /// element i becomes <c>((x0[i] + x1[i]) + x2[i]) + ...</c>, exactly what one process computes when it adds the
    /// ranks' arrays one after the other (as the trainer adds its shards' gradients). The result is bitwise the same on
    /// every rank and from run to run, whatever the number of machines or MPI's own algorithms.
    /// </summary>
    /// <remarks>
    /// MPI_Allreduce's summation order belongs to the implementation (MPICH changes algorithm with message size and rank
    /// count), so it is not used. Instead each rank owns a contiguous segment of the array: an MPI_Ialltoallv gives every
    /// rank all ranks' copies of its segment, the rank adds them in rank order, and an MPI_Iallgatherv returns the summed
    /// segments to everyone. Each rank sends and receives 2 (P - 1) / P of the array, as a ring allreduce does.
    /// </remarks>
    /// <param name="values">This rank's values (the same length on every rank); the sums on return.</param>
    /// <param name="timeout">How long each of the two exchanges waits (default <see cref="Timeout"/>).</param>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public void AllreduceSum(Span<float> values, TimeSpan? timeout = null) => AllreduceSum(values, floats, floatRows, MpiAbi.Float, "floats", timeout);

    /// <inheritdoc cref="AllreduceSum(Span{float}, TimeSpan?)"/>
    public void AllreduceSum(Span<double> values, TimeSpan? timeout = null) => AllreduceSum(values, doubles, doubleRows, MpiAbi.Double, "doubles", timeout);

    void IPinnedSum.Sum(float[] pinned, int count, string operation)
    {
        lock (gate)
        {
            ThrowIfUnusable();
            SumInRankOrder(pinned, count, floatRows, MpiAbi.Float, operation, Timeout);
        }
    }

    void IPinnedSum.Sum(double[] pinned, int count, string operation)
    {
        lock (gate)
        {
            ThrowIfUnusable();
            SumInRankOrder(pinned, count, doubleRows, MpiAbi.Double, operation, Timeout);
        }
    }

    /// <summary>
    /// MPICH's own MPI_Iallreduce (MPI_SUM) on the first <paramref name="count"/> elements of a pinned array, in place: its
    /// summation order is MPICH's. Not used for results; the probe compares its time with <see cref="AllreduceSum(Span{float}, TimeSpan?)"/>'s.
    /// </summary>
    internal void NativeAllreduceSum(float[] pinned, int count)
    {
        lock (gate)
        {
            ThrowIfUnusable();
            Run("MPI_Iallreduce (sum)", Timeout, () => (native.Iallreduce(MpiAbi.InPlace, PinnedBuffer<float>.Address(pinned), count, MpiAbi.Float, MpiAbi.Sum, MpiAbi.CommWorld, out int request), request), pinned);
        }
    }

    private void AllreduceSum<T>(Span<T> values, PinnedBuffer<T> stage, PinnedBuffer<T> rows, int datatype, string unit, TimeSpan? timeout)
        where T : unmanaged, IAdditionOperators<T, T, T>
    {
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            if (Size == 1 || values.IsEmpty) return;
            var buffer = stage.Ensure(values.Length);
            values.CopyTo(buffer);
            SumInRankOrder(buffer, values.Length, rows, datatype, string.Create(CultureInfo.InvariantCulture, $"allreduce (sum of {values.Length:N0} {unit})"), wait);
            buffer.AsSpan(0, values.Length).CopyTo(values);
        }
    }

    /// <summary>The fixed-order sum of <see cref="AllreduceSum(Span{float}, TimeSpan?)"/> on a pinned array. Called under the lock.</summary>
    private void SumInRankOrder<T>(T[] data, int count, PinnedBuffer<T> rows, int datatype, string operation, TimeSpan timeout)
        where T : unmanaged, IAdditionOperators<T, T, T>
    {
        if (Size == 1 || count == 0) return;
        int p = Size;
        var counts = layout.Ensure(4 * p);
        for (int j = 0; j < p; j++)
        {
            var (start, length) = Segment(count, p, j);
            counts[j] = length;                     // send: segment j goes to rank j ...
            counts[p + j] = start;
            counts[2 * p + j] = Segment(count, p, Rank).Length;   // ... and receive: rank j's copy of this rank's segment
            counts[3 * p + j] = j * counts[2 * p + j];
        }

        var (own, ownLength) = Segment(count, p, Rank);
        var received = rows.Ensure(Math.Max(1, p * ownLength));
        IntPtr At(int part) => PinnedBuffer<int>.Address(counts, part * p);
        Run(operation + ", exchange of segments", timeout, () => (native.Ialltoallv(
            PinnedBuffer<T>.Address(data), At(0), At(1), datatype,
            PinnedBuffer<T>.Address(received), At(2), At(3), datatype, MpiAbi.CommWorld, out int request), request), data, received, counts);

        // Rank 0's copy, then rank 1's added, and so on: the order one process would add them in.
        var sum = data.AsSpan(own, ownLength);
        received.AsSpan(0, ownLength).CopyTo(sum);
        for (int j = 1; j < p; j++) Add(sum, received.AsSpan(j * ownLength, ownLength));

        Run(operation + ", gathering of sums", timeout, () => (native.Iallgatherv(
            MpiAbi.InPlace, 0, MpiAbi.DatatypeNull,
            PinnedBuffer<T>.Address(data), At(0), At(1), datatype, MpiAbi.CommWorld, out int request), request), data, counts);
    }

    /// <summary>Segment j of <paramref name="count"/> elements cut into <paramref name="parts"/> contiguous parts whose lengths differ by at most one.</summary>
    internal static (int Start, int Length) Segment(int count, int parts, int j)
    {
        int start = (int)((long)count * j / parts);
        return (start, (int)((long)count * (j + 1) / parts) - start);
    }

    /// <summary><paramref name="sum"/>[i] += <paramref name="term"/>[i]: IEEE additions element by element, in vectors where the hardware has them (the same results).</summary>
    internal static void Add<T>(Span<T> sum, ReadOnlySpan<T> term) where T : unmanaged, IAdditionOperators<T, T, T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && sum.Length >= Vector<T>.Count)
        {
            var wide = MemoryMarshal.Cast<T, Vector<T>>(sum);
            var wideTerm = MemoryMarshal.Cast<T, Vector<T>>(term);
            for (int k = 0; k < wide.Length; k++) wide[k] += wideTerm[k];
            i = wide.Length * Vector<T>.Count;
        }

        for (; i < sum.Length; i++) sum[i] += term[i];
    }
}
