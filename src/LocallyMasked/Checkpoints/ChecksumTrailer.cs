using System.Security.Cryptography;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The trailer that ends a training checkpoint from format 3 on: <see cref="Tag"/> and the SHA-256 of every byte before
/// it. It is verified before any byte of the file is interpreted, so that a bit-flipped or truncated file is refused with
/// its name; files of formats 1 and 2 have none.
/// </summary>
internal static class ChecksumTrailer
{
    /// <summary>The 8 bytes that open the trailer.</summary>
    private static ReadOnlySpan<byte> Tag => "LMSHA256"u8;

    private const int Length = 8 + 32;

    /// <summary>A file's bytes up to its trailer, and whether it had one (then it matched).</summary>
    /// <param name="Bytes">The whole file.</param>
    /// <param name="Length">How many bytes precede the trailer (all of them without one).</param>
    /// <param name="Checksummed">Whether a trailer vouched for those bytes.</param>
    public readonly record struct Contents(byte[] Bytes, int Length, bool Checksummed);

    /// <summary>Reads the whole file (TorchSharp's tensor reader expects every byte to be there) and verifies its trailer.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file has a trailer and its bytes do not match it.</exception>
    public static Contents ReadVerified(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        var bytes = File.ReadAllBytes(path);
        int length = bytes.Length;
        if (length < Length || !bytes.AsSpan(length - Length, Tag.Length).SequenceEqual(Tag))
            return new Contents(bytes, length, false);
        length -= Length;
        if (!SHA256.HashData(bytes.AsSpan(0, length)).AsSpan().SequenceEqual(bytes.AsSpan(length + Tag.Length)))
            throw new InvalidDataException($"{path}: checksum mismatch, the file was changed or damaged after it was written; use another checkpoint.");
        return new Contents(bytes, length, true);
    }

    /// <summary>A reader of the bytes before the trailer, whose stream tells whether a checksum vouched for them.</summary>
    /// <param name="contents">What <see cref="ReadVerified"/> read.</param>
    public static BinaryReader Reader(Contents contents) =>
        new(new VerifiedStream(contents.Bytes, contents.Length, contents.Checksummed), System.Text.Encoding.UTF8);

    /// <summary>Whether the reader's bytes were vouched for by a trailer.</summary>
    /// <param name="reader">A reader made by <see cref="Reader"/>.</param>
    public static bool Verified(BinaryReader reader) => reader.BaseStream is VerifiedStream { Checksummed: true };

    /// <summary>Writes what <paramref name="write"/> writes, then the trailer over it.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="write">Writes the content.</param>
    public static void WriteWith(Stream stream, Action<Stream> write)
    {
        using (var hashing = new HashingStream(stream))
        {
            write(hashing);
            stream.Write(Tag);
            stream.Write(hashing.Hash());
        }
        stream.Flush();
    }

    /// <summary>The readable part of a file (before its trailer), knowing whether a checksum vouched for it.</summary>
    private sealed class VerifiedStream(byte[] bytes, int length, bool checksummed) : MemoryStream(bytes, 0, length, writable: false)
    {
        public bool Checksummed { get; } = checksummed;
    }

    /// <summary>Forwards writes to a stream and hashes them (SHA-256).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Hash() => hash.GetHashAndReset();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }

        public override void WriteByte(byte value) => Write(new[] { value });

        protected override void Dispose(bool disposing)
        {
            if (disposing) hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
