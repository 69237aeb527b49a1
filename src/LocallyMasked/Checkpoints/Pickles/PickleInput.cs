using System.Buffers.Binary;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// The bytes of one or more pickles read from a stream under a budget: no read goes past <see cref="MaxBytes"/> in all,
/// and a length that a pickle claims is checked against the budget and against what the stream still holds before
/// anything is allocated for it. Reads go straight to the stream (no read-ahead), so that data after a pickle (the
/// storages of a legacy file) can be read from the same stream.
/// </summary>
internal sealed class PickleInput
{
    private readonly Stream _stream;
    private readonly long _end;

    /// <summary>Reads from <paramref name="stream"/>.</summary>
    /// <param name="stream">The source, at the first pickle.</param>
    /// <param name="maxBytes">The most bytes all pickles read from it may take.</param>
    /// <param name="length">How many bytes the stream holds from its position, when known (else its length when it can seek).</param>
    public PickleInput(Stream stream, long maxBytes, long? length = null)
    {
        _stream = stream;
        MaxBytes = maxBytes;
        _end = length ?? (stream.CanSeek ? stream.Length - stream.Position : long.MaxValue);
    }

    /// <summary>The budget.</summary>
    public long MaxBytes { get; }

    /// <summary>Bytes read so far.</summary>
    public long Position { get; private set; }

    /// <summary>One byte.</summary>
    public byte ReadByte()
    {
        if (Position >= _end) throw new EndOfStreamException($"The pickle ends at byte {Position} before its STOP opcode.");
        Reserve(1, "an opcode");
        int b = _stream.ReadByte();
        if (b < 0) throw new EndOfStreamException($"The pickle ends at byte {Position - 1} before its STOP opcode.");
        return (byte)b;
    }

    /// <summary><paramref name="count"/> bytes, after checking that the budget and the stream hold them.</summary>
    /// <param name="count">A length the pickle claims.</param>
    /// <param name="what">What the bytes are, for messages.</param>
    public byte[] ReadBytes(long count, string what)
    {
        if (count < 0) throw new InvalidDataException($"The pickle claims a negative length ({count}) for {what} at byte {Position}.");
        Reserve(count, what);
        var bytes = new byte[count];
        try
        {
            _stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException e)
        {
            throw new EndOfStreamException($"The pickle ends inside {what} ({count} bytes at byte {Position - count}).", e);
        }
        return bytes;
    }

    /// <summary>A little-endian integer of 1, 2, 4 or 8 bytes.</summary>
    /// <param name="size">Its size in bytes.</param>
    /// <param name="signed">Whether it is signed (else an 8-byte value above <see cref="long.MaxValue"/> is refused).</param>
    public long ReadInteger(int size, bool signed)
    {
        var b = ReadBytes(size, "an integer");
        return (size, signed) switch
        {
            (1, _) => b[0],
            (2, _) => BinaryPrimitives.ReadUInt16LittleEndian(b),
            (4, true) => BinaryPrimitives.ReadInt32LittleEndian(b),
            (4, false) => BinaryPrimitives.ReadUInt32LittleEndian(b),
            (8, true) => BinaryPrimitives.ReadInt64LittleEndian(b),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(b) is var u && u <= long.MaxValue
                ? (long)u
                : throw new InvalidDataException($"The pickle claims a length of {u} bytes at byte {Position - 8}."),
        };
    }

    /// <summary>The bytes up to the next newline (not included), within the budget.</summary>
    /// <param name="what">What the line is, for messages.</param>
    public byte[] ReadLine(string what)
    {
        var line = new MemoryStream();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') return line.ToArray();
            line.WriteByte(b);
        }
    }

    private void Reserve(long count, string what)
    {
        if (count > MaxBytes - Position)
            throw new PickleLimitException(PickleLimit.Bytes, MaxBytes,
                $"The pickle needs more than {MaxBytes} bytes ({what} of {count} bytes at byte {Position}).");
        if (count > _end - Position)
            throw new EndOfStreamException($"The pickle claims {count} bytes for {what} at byte {Position}, but the file holds only {Math.Max(0, _end - Position)} more.");
        Position += count;
    }
}
