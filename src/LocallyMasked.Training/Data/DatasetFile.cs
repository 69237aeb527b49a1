using System.Text.RegularExpressions;

namespace LocallyMasked.Training.Data;

/// <summary>
/// One file of a downloadable data set: its name (appended to a mirror's base address, and its name in the target
/// folder), its size in bytes and its published checksums. At least one of <see cref="Md5"/> and
/// <see cref="Sha256"/> is required; every one given must match.
/// </summary>
public sealed record DatasetFile
{
    private static readonly Regex PlainName = new(@"^[A-Za-z0-9][A-Za-z0-9._-]*$", RegexOptions.CultureInvariant);

    /// <summary>Creates a file description, checking the name and the checksums' format.</summary>
    /// <param name="name">The file name: letters, digits, '.', '_' and '-', no folders.</param>
    /// <param name="size">The size in bytes, or null when not published (then only the checksums are checked).</param>
    /// <param name="md5">The MD5 as 32 hexadecimal digits, or null.</param>
    /// <param name="sha256">The SHA-256 as 64 hexadecimal digits, or null.</param>
    public DatasetFile(string name, long? size, string? md5, string? sha256)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!PlainName.IsMatch(name))
            throw new ArgumentException($"'{name}': a data set file name is a plain file name (letters, digits, '.', '_', '-').", nameof(name));
        if (size is < 0) throw new ArgumentException($"{name}: expected a non-negative size, got {size}.", nameof(size));
        if (md5 is null && sha256 is null) throw new ArgumentException($"{name}: give an MD5 or a SHA-256 (or both).", nameof(md5));
        if (md5 is not null && !IsHex(md5, 32)) throw new ArgumentException($"{name}: '{md5}' is not an MD5 (32 hexadecimal digits).", nameof(md5));
        if (sha256 is not null && !IsHex(sha256, 64)) throw new ArgumentException($"{name}: '{sha256}' is not a SHA-256 (64 hexadecimal digits).", nameof(sha256));
        Name = name;
        Size = size;
        Md5 = md5?.ToLowerInvariant();
        Sha256 = sha256?.ToLowerInvariant();
    }

    /// <summary>The file name.</summary>
    public string Name { get; }

    /// <summary>The size in bytes, when published.</summary>
    public long? Size { get; }

    /// <summary>The MD5 in lower-case hexadecimal, when published.</summary>
    public string? Md5 { get; }

    /// <summary>The SHA-256 in lower-case hexadecimal, when published.</summary>
    public string? Sha256 { get; }

    /// <summary>
    /// For a .tar.gz archive: the regular files to unpack next to it (paths inside the archive, with their sizes);
    /// empty for a file used as it is.
    /// </summary>
    public IReadOnlyList<ArchiveEntry> Extract { get; init; } = Array.Empty<ArchiveEntry>();

    private static bool IsHex(string text, int length) => text.Length == length && text.All(Uri.IsHexDigit);
}

/// <summary>A regular file inside a data set's archive that is unpacked, and its size in bytes.</summary>
/// <param name="Path">The path inside the archive, with '/' separators (for example cifar-10-batches-bin/test_batch.bin).</param>
/// <param name="Size">The size in bytes.</param>
public sealed record ArchiveEntry(string Path, long Size);
