using System.Formats.Tar;
using System.IO.Compression;

namespace LocallyMasked.Training.Data;

/// <summary>
/// Unpacks .tar.gz archives with the framework's own readers (GZipStream and System.Formats.Tar): regular files only,
/// no entry outside the destination, everything written to a temporary folder inside the destination first and moved
/// into place only when the whole archive has been read (and the expected entries are there with their sizes). Sizes
/// are checked before anything is written: an expected entry must declare its expected size in its header, and the
/// archive may unpack to at most its expected entries plus <see cref="MaxOtherBytes"/> (other entries and headers), or
/// <see cref="MaxUnpackedBytes"/> and <see cref="MaxEntries"/> entries when every file is unpacked, so that neither a
/// lying header nor a decompression bomb fills the disk or the memory.
/// </summary>
internal static class TarGzArchive
{
    /// <summary>With a list of expected entries: how many bytes the archive may unpack to beyond them (other entries, headers).</summary>
    public const long MaxOtherBytes = 1L << 30;

    /// <summary>Without a list: the most bytes the archive may unpack to.</summary>
    public const long MaxUnpackedBytes = 16L << 30;

    /// <summary>Without a list: the most regular files unpacked.</summary>
    public const int MaxEntries = 100_000;

    /// <summary>
    /// Unpacks <paramref name="archive"/> into <paramref name="destination"/>: the regular files listed in
    /// <paramref name="expected"/> (each must be present with its size), or every regular file when it is null.
    /// Returns the paths written. Any entry that names a path outside the destination (absolute, or with "..") or
    /// that is a link or a device rejects the whole archive; so does an expected entry whose header declares another size,
    /// an archive beyond the limits above, and a truncated or corrupt one (<see cref="InvalidDataException"/>, nothing
    /// written).
    /// </summary>
    /// <param name="archive">The .tar.gz file.</param>
    /// <param name="destination">The folder to unpack into (created if needed).</param>
    /// <param name="expected">The entries to unpack, or null for all regular files.</param>
    /// <param name="temporaries">Records the temporary folder while it exists (for a cleanup from another thread), or null.</param>
    /// <param name="maxUnpackedBytes">The most bytes the archive may unpack to; null for the limits above.</param>
    /// <param name="cancellationToken">Stops the unpacking (the temporary folder is deleted).</param>
    public static IReadOnlyList<string> Extract(string archive, string destination, IReadOnlyCollection<ArchiveEntry>? expected = null,
        TemporaryPaths? temporaries = null, long? maxUnpackedBytes = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(archive);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        string root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        string temp = Path.Combine(root, $".{Path.GetFileName(archive)}.{Path.GetRandomFileName()}.tmp");
        temporaries ??= new TemporaryPaths();
        temporaries.Add(temp, folder: true);
        try
        {
            Directory.CreateDirectory(temp);
            var wanted = expected?.ToDictionary(e => Normalize(e.Path), e => e.Size, StringComparer.Ordinal);
            long bound = maxUnpackedBytes ?? (wanted is null ? MaxUnpackedBytes : wanted.Values.Sum() + MaxOtherBytes);
            var found = new Dictionary<string, long>(StringComparer.Ordinal);
            ReadEntries(archive, temp, wanted, found, bound, cancellationToken);
            if (wanted is not null)
                foreach (var (path, size) in wanted)
                {
                    if (!found.TryGetValue(path, out long actual))
                        throw new InvalidDataException($"{archive}: the archive has no entry {Printable(path)}.");
                    if (actual != size)
                        throw Rejected($"{archive}: entry {Printable(path)} has {actual} bytes, expected {size}.");
                }
            var written = new List<string>();
            foreach (var path in found.Keys)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string final = Path.Combine(root, path);
                Directory.CreateDirectory(Path.GetDirectoryName(final)!);
                File.Move(Path.Combine(temp, path), final, overwrite: true);
                written.Add(final);
            }
            return written;
        }
        finally
        {
            temporaries.Delete(temp);
        }
    }

    private static void ReadEntries(string archive, string temp, Dictionary<string, long>? wanted, Dictionary<string, long> found, long bound,
        CancellationToken cancellationToken)
    {
        string tempWithSeparator = temp + Path.DirectorySeparatorChar;
        long declared = 0;
        try
        {
            using var file = File.OpenRead(archive);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var bounded = new BoundedReadStream(gzip, bound, () => Rejected(
                $"{archive}: the archive unpacks to more than {bound} bytes{(wanted is null ? "" : " (its expected entries and 1 GiB more)")}; it is rejected."),
                cancellationToken);
            using var reader = new TarReader(bounded);
            while (reader.GetNextEntry() is { } entry)
            {
                string name = Normalize(entry.Name);
                if (name.Length == 0) continue;   // "./" itself
                if (Path.IsPathRooted(entry.Name) || entry.Name.StartsWith('/') || name.Split('/').Any(part => part == ".."))
                    throw Rejected($"{archive}: entry {Printable(entry.Name)} points outside the destination folder; the archive is rejected.");
                string full = Path.GetFullPath(Path.Combine(temp, name));
                if (!full.StartsWith(tempWithSeparator, StringComparison.Ordinal))
                    throw Rejected($"{archive}: entry {Printable(entry.Name)} points outside the destination folder; the archive is rejected.");
                // The header's size is known before the data is read: what cannot fit is refused before any byte is written.
                declared += entry.Length;
                if (declared > bound)
                    throw Rejected($"{archive}: entry {Printable(name)} declares {entry.Length} bytes, more than the archive may unpack to ({bound} bytes); it is rejected.");
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                    case TarEntryType.GlobalExtendedAttributes:
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (wanted is not null && !wanted.TryGetValue(name, out _)) break;
                        if (found.ContainsKey(name)) throw Rejected($"{archive}: entry {Printable(name)} occurs twice.");
                        if (wanted is not null && entry.Length != wanted[name])
                            throw Rejected($"{archive}: entry {Printable(name)} declares {entry.Length} bytes, expected {wanted[name]}; nothing was unpacked.");
                        if (wanted is null && found.Count >= MaxEntries)
                            throw Rejected($"{archive}: more than {MaxEntries} files; the archive is rejected.");
                        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                        entry.ExtractToFile(full, overwrite: false);
                        found[name] = new FileInfo(full).Length;
                        break;
                    default:
                        throw Rejected(
                            $"{archive}: entry {Printable(entry.Name)} is a {entry.EntryType}; only regular files and folders are unpacked, so the archive is rejected.");
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException || (e is InvalidDataException && !e.Data.Contains(RejectedKey)))
        {
            throw new InvalidDataException($"{archive}: truncated or corrupt archive ({FirstLine(e.Message)}).", e);
        }
    }

    /// <summary>An entry name with '/' separators and without a leading "./" or trailing '/'.</summary>
    private static string Normalize(string name)
    {
        string n = name.Replace('\\', '/');
        while (n.StartsWith("./", StringComparison.Ordinal)) n = n[2..];
        return n.TrimEnd('/');
    }

    private const string RejectedKey = "rejected-archive";

    /// <summary>An archive this class refuses (marked, as opposed to one the framework's readers could not read).</summary>
    private static InvalidDataException Rejected(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[RejectedKey] = true;
        return e;
    }

    /// <summary>An entry name for a one-line message: quoted, its control characters (a newline) escaped, shortened.</summary>
    private static string Printable(string name)
    {
        var text = new System.Text.StringBuilder("'");
        foreach (char c in name.Length > 200 ? name[..200] : name) text.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return text.Append(name.Length > 200 ? "...'" : "'").ToString();
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(new[] { '\r', '\n' });
        return end < 0 ? text : text[..end];
    }
}
