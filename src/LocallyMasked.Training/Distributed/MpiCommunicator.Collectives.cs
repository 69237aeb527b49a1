using System.Globalization;

namespace LocallyMasked.Training.Distributed;

public sealed partial class MpiCommunicator
{
    private readonly PinnedBuffer<byte> bytes = new();
    private readonly PinnedBuffer<int> ints = new();
    private readonly PinnedBuffer<long> longs = new();
    private readonly PinnedBuffer<float> floats = new();
    private readonly PinnedBuffer<double> doubles = new();

    /// <summary>Waits until every rank has called it (MPI_Ibarrier).</summary>
    /// <param name="timeout">How long to wait (default <see cref="Timeout"/>).</param>
    /// <exception cref="MpiTimeoutException">A rank did not arrive in time.</exception>
    public void Barrier(TimeSpan? timeout = null)
    {
        lock (gate)
        {
            ThrowIfUnusable();
            Run("barrier", TimeoutOf(timeout), () => (native.Ibarrier(MpiAbi.CommWorld, out int request), request));
        }
    }

    /// <summary>Replaces <paramref name="values"/> on every rank with rank 0's (MPI_Ibcast). Every rank gives the same length.</summary>
    /// <param name="values">Rank 0's values to send; on the other ranks, where they arrive.</param>
    /// <param name="timeout">How long to wait (default <see cref="Timeout"/>).</param>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public void Broadcast(Span<byte> values, TimeSpan? timeout = null) => Broadcast(values, bytes, MpiAbi.Byte, "bytes", timeout);

    /// <inheritdoc cref="Broadcast(Span{byte}, TimeSpan?)"/>
    public void Broadcast(Span<float> values, TimeSpan? timeout = null) => Broadcast(values, floats, MpiAbi.Float, "floats", timeout);

    /// <inheritdoc cref="Broadcast(Span{byte}, TimeSpan?)"/>
    public void Broadcast(Span<double> values, TimeSpan? timeout = null) => Broadcast(values, doubles, MpiAbi.Double, "doubles", timeout);

    /// <summary>
    /// Rank 0's bytes on every rank, whatever their length (a serialized state, a file): the length is broadcast first,
    /// then the bytes.
    /// </summary>
    /// <param name="rankZeroData">The bytes on rank 0 (required there); ignored on the other ranks.</param>
    /// <param name="timeout">How long each of the two broadcasts waits (default <see cref="Timeout"/>).</param>
    /// <returns>Rank 0's bytes (on rank 0, <paramref name="rankZeroData"/> itself).</returns>
    /// <exception cref="ArgumentNullException">Rank 0 gave no data.</exception>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public byte[] BroadcastBytes(byte[]? rankZeroData, TimeSpan? timeout = null)
    {
        if (IsRoot) ArgumentNullException.ThrowIfNull(rankZeroData);
        long length;
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            var buffer = longs.Ensure(1);
            buffer[0] = IsRoot ? rankZeroData!.LongLength : 0;
            Run("broadcast (length of rank 0's bytes)", wait, () => (native.Ibcast(PinnedBuffer<long>.Address(buffer), 1, MpiAbi.LongLong, 0, MpiAbi.CommWorld, out int request), request), buffer);
            length = buffer[0];
        }

        if (length > Array.MaxLength) throw new MpiException($"MPI broadcast: rank 0 sent a length of {length} bytes, more than an array can hold.", 0);
        var data = IsRoot ? rankZeroData! : new byte[length];
        Broadcast(data.AsSpan(), timeout);
        return data;
    }

    /// <summary>Every rank's value, in rank order (MPI_Iallgather): small values such as a flag, a count, a time.</summary>
    /// <param name="value">This rank's value.</param>
    /// <param name="timeout">How long to wait (default <see cref="Timeout"/>).</param>
    /// <returns>An array of <see cref="Size"/> values; element r is rank r's.</returns>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public int[] Allgather(int value, TimeSpan? timeout = null) => Allgather(value, ints, MpiAbi.Int, timeout);

    /// <inheritdoc cref="Allgather(int, TimeSpan?)"/>
    public long[] Allgather(long value, TimeSpan? timeout = null) => Allgather(value, longs, MpiAbi.LongLong, timeout);

    /// <inheritdoc cref="Allgather(int, TimeSpan?)"/>
    public double[] Allgather(double value, TimeSpan? timeout = null) => Allgather(value, doubles, MpiAbi.Double, timeout);

    /// <summary>
    /// Every rank's values concatenated in rank order (MPI_Iallgatherv); the ranks may give different lengths (each its
    /// share of a list of results, in order). The values arrive unchanged, bit for bit.
    /// </summary>
    /// <param name="values">This rank's values.</param>
    /// <param name="timeout">How long each of the two exchanges (the lengths, then the values) waits (default <see cref="Timeout"/>).</param>
    /// <returns>Rank 0's values, then rank 1's, and so on.</returns>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    /// <exception cref="MpiException">The values of all ranks together are more than an array can hold.</exception>
    public double[] AllgatherConcatenated(ReadOnlySpan<double> values, TimeSpan? timeout = null) =>
        AllgatherConcatenated(values, doubles, doubleRows, MpiAbi.Double, "doubles", timeout);

    /// <inheritdoc cref="AllgatherConcatenated(ReadOnlySpan{double}, TimeSpan?)"/>
    public float[] AllgatherConcatenated(ReadOnlySpan<float> values, TimeSpan? timeout = null) =>
        AllgatherConcatenated(values, floats, floatRows, MpiAbi.Float, "floats", timeout);

    private T[] AllgatherConcatenated<T>(ReadOnlySpan<T> values, PinnedBuffer<T> stage, PinnedBuffer<T> rows, int datatype, string unit, TimeSpan? timeout)
        where T : unmanaged
    {
        var lengths = Allgather(values.Length, timeout);
        long total = lengths.Sum(length => (long)length);
        if (total > Array.MaxLength)
            throw new MpiException(string.Create(CultureInfo.InvariantCulture, $"MPI allgather: the ranks' {total:N0} {unit} together are more than an array can hold."), 0);
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            if (Size == 1) return values.ToArray();
            var send = stage.Ensure(Math.Max(1, values.Length));
            values.CopyTo(send);
            var received = rows.Ensure(Math.Max(1, (int)total));
            var counts = layout.Ensure(2 * Size);
            for (int r = 0, at = 0; r < Size; at += lengths[r], r++)
            {
                counts[r] = lengths[r];
                counts[Size + r] = at;
            }
            int own = values.Length;
            Run(string.Create(CultureInfo.InvariantCulture, $"allgather ({total:N0} {unit} from {Size} ranks)"), wait, () => (native.Iallgatherv(
                PinnedBuffer<T>.Address(send), own, datatype, PinnedBuffer<T>.Address(received), PinnedBuffer<int>.Address(counts),
                PinnedBuffer<int>.Address(counts, Size), datatype, MpiAbi.CommWorld, out int request), request), send, received, counts);
            return received.AsSpan(0, (int)total).ToArray();
        }
    }

    private void Broadcast<T>(Span<T> values, PinnedBuffer<T> stage, int datatype, string unit, TimeSpan? timeout) where T : unmanaged
    {
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            if (Size == 1 || values.IsEmpty) return;
            var buffer = stage.Ensure(values.Length);
            if (IsRoot) values.CopyTo(buffer);
            int count = values.Length;
            Run(string.Create(CultureInfo.InvariantCulture, $"broadcast ({count:N0} {unit} from rank 0)"), wait,
                () => (native.Ibcast(PinnedBuffer<T>.Address(buffer), count, datatype, 0, MpiAbi.CommWorld, out int request), request), buffer);
            if (!IsRoot) buffer.AsSpan(0, count).CopyTo(values);
        }
    }

    private T[] Allgather<T>(T value, PinnedBuffer<T> stage, int datatype, TimeSpan? timeout) where T : unmanaged
    {
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            var buffer = stage.Ensure(Size);
            buffer[Rank] = value;
            if (Size > 1)
                Run($"allgather (one {typeof(T).Name} per rank)", wait,
                    () => (native.Iallgather(MpiAbi.InPlace, 0, MpiAbi.DatatypeNull, PinnedBuffer<T>.Address(buffer), 1, datatype, MpiAbi.CommWorld, out int request), request), buffer);
            return buffer.AsSpan(0, Size).ToArray();
        }
    }
}
