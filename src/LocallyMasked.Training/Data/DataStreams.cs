using System.IO.Compression;

namespace LocallyMasked.Training.Data;

/// <summary>
/// Reading data files whose sizes come from the files themselves, within bounds: gzip is recognized from the first bytes
/// and inflated as it is read (never whole), and a byte array grows as bytes actually arrive, so that a header claiming
/// gigabytes or a decompression bomb costs at most what was asked for, never more than the file holds.
/// </summary>
internal static class DataStreams
{
    /// <summary>The stream's bytes, inflated when they start with the gzip signature 1F 8B.</summary>
    /// <param name="stream">The file's bytes (seekable, or read into memory first).</param>
    /// <param name="name">The file's name, for messages.</param>
    public static Stream Inflated(Stream stream, string name)
    {
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        long start = stream.Position;
        Span<byte> signature = stackalloc byte[2];
        int read = stream.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        stream.Position = start;
        if (read < 2 || signature[0] != 0x1F || signature[1] != 0x8B) return stream;
        return new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>
    /// Reads bytes until <paramref name="count"/> have arrived or the stream ends (then fewer are returned); the array grows
    /// with what arrives, so a large <paramref name="count"/> costs nothing until the bytes are there.
    /// </summary>
    /// <param name="stream">The source.</param>
    /// <param name="count">The most bytes to read; at most <see cref="Array.MaxLength"/>.</param>
    /// <param name="name">The file's name, for messages.</param>
    /// <exception cref="InvalidDataException">The gzip data is corrupt.</exception>
    public static byte[] ReadUpTo(Stream stream, long count, string name)
    {
        if (count < 0 || count > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(count), $"Expected a count within an array's length, got {count}.");
        // A seekable stream's length bounds what it can give: the array is allocated once. A stream of unknown length
        // (gzip) grows the array as bytes arrive, so that what is allocated is at most twice what was received.
        bool knownLength = stream.CanSeek;
        long available = knownLength ? Math.Min(count, Math.Max(0, stream.Length - stream.Position)) : count;
        var buffer = new byte[knownLength ? available : Math.Min(count, 1 << 16)];
        int filled = 0;
        try
        {
            while (filled < available)
            {
                if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(available, 2L * buffer.Length));
                int n = stream.Read(buffer, filled, buffer.Length - filled);
                if (n == 0) break;
                filled += n;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"{name}: corrupt gzip data ({e.Message}).", e);
        }
        return filled == buffer.Length ? buffer : buffer[..filled];
    }

    /// <summary>Whether the stream ends here (one byte more is tried).</summary>
    /// <param name="stream">The source.</param>
    /// <param name="name">The file's name, for messages.</param>
    public static bool AtEnd(Stream stream, string name) => ReadUpTo(stream, 1, name).Length == 0;
}
