namespace LocallyMasked.Training.Data;

/// <summary>
/// A read-only view of a stream that refuses to read more than a number of bytes in all (so that a decompression bomb
/// costs at most that much time and memory) and stops when a cancellation is requested.
/// </summary>
internal sealed class BoundedReadStream(Stream inner, long maxBytes, Func<Exception> tooLong, CancellationToken cancellationToken) : Stream
{
    private long _read;

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Read one byte beyond the bound, so that reaching it exactly is allowed and passing it is seen.
        long allowed = maxBytes + 1 - _read;
        int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, Math.Max(allowed, 0))]);
        _read += n;
        if (_read > maxBytes) throw tooLong();
        return n;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
