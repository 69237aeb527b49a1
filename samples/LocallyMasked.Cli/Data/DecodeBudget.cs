namespace LocallyMasked.Cli.Data;

/// <summary>
/// Bounds the memory of images decoded at once: a decoding takes its bytes from the budget before it starts and gives
/// them back when done, waiting while the bytes in use and its own would exceed <see cref="Bytes"/>; a decoding larger
/// than the whole budget runs alone. Thread-safe; the peak of bytes in use stays within the budget, or within the
/// largest single decoding when that is larger.
/// </summary>
public sealed class DecodeBudget
{
    /// <summary>The default budget: 256 MiB, the pixels of one 8192 x 8192 image.</summary>
    public const long DefaultBytes = 256L << 20;

    private readonly object gate = new();
    private long inUse;

    /// <summary>Creates a budget.</summary>
    /// <param name="bytes">The bytes that decodings in flight may hold together, positive.</param>
    public DecodeBudget(long bytes = DefaultBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Bytes = bytes;
    }

    /// <summary>The budget.</summary>
    public long Bytes { get; }

    /// <summary>The most bytes that were in use at once.</summary>
    public long Peak { get; private set; }

    /// <summary>Waits until <paramref name="bytes"/> fit beside those in use (or nothing else is in use), and takes them until the returned handle is disposed.</summary>
    /// <param name="bytes">What the decoding will hold, not negative.</param>
    public IDisposable Take(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (gate)
        {
            while (inUse > 0 && inUse + bytes > Bytes) Monitor.Wait(gate);
            inUse += bytes;
            Peak = Math.Max(Peak, inUse);
        }
        return new Lease(this, bytes);
    }

    private void Give(long bytes)
    {
        lock (gate)
        {
            inUse -= bytes;
            Monitor.PulseAll(gate);
        }
    }

    private sealed class Lease(DecodeBudget budget, long bytes) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) budget.Give(bytes);
        }
    }
}
