using System.Security.Cryptography;

namespace LocallyMasked.Training.Data;

/// <summary>The MD5 and SHA-256 of a stream, computed as it is written (only those the description publishes).</summary>
internal sealed class FileHashes : IDisposable
{
    private readonly IncrementalHash? md5;
    private readonly IncrementalHash? sha256;

    /// <summary>Starts the hashes <paramref name="file"/> publishes.</summary>
    /// <param name="file">The description.</param>
    public FileHashes(DatasetFile file)
    {
        if (file.Md5 is not null) md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        if (file.Sha256 is not null) sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    /// <summary>Adds bytes.</summary>
    /// <param name="data">The next bytes.</param>
    public void Append(ReadOnlySpan<byte> data)
    {
        md5?.AppendData(data);
        sha256?.AppendData(data);
    }

    /// <summary>Null when every published checksum matches, else the first difference in words.</summary>
    /// <param name="file">The description.</param>
    public string? Mismatch(DatasetFile file)
    {
        if (md5 is not null && Hex(md5.GetHashAndReset()) is var m && m != file.Md5) return $"MD5 {m}, expected {file.Md5}";
        if (sha256 is not null && Hex(sha256.GetHashAndReset()) is var s && s != file.Sha256) return $"SHA-256 {s}, expected {file.Sha256}";
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        md5?.Dispose();
        sha256?.Dispose();
    }

    private static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant();
}
