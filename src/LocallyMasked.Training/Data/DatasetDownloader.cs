using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;

namespace LocallyMasked.Training.Data;

/// <summary>
/// Downloads a data set into a folder the way torchvision's <c>download=True</c> does, with stricter guarantees: each
/// file streams to a temporary name in the target folder (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>) while its MD5 and
/// SHA-256 are computed, and is moved to its name only when its size and every published checksum match; a file
/// that is already there and verifies is not fetched again; archives are unpacked through a temporary folder. On any
/// failure or cancellation the temporary file is deleted and a <see cref="DatasetDownloadException"/> says which address
/// or folder failed, why, where to get the files by hand and what the folder must hold; addresses are shown without
/// their credentials (<see cref="UrlRedaction"/>). <see cref="CleanUp"/> removes what running downloads have created,
/// from any thread, for a handler of process termination.
/// </summary>
/// <remarks>
/// <see cref="HttpClient.Timeout"/> covers only the response headers when a body is streamed, so the downloader
/// cancels a transfer itself when no byte arrives for <see cref="StallTimeout"/> (the same limit applies to the
/// headers) and when, over any <see cref="StallTimeout"/>, fewer than <see cref="MinimumBytesPerSecond"/> arrive on
/// average (a server that trickles a byte a second). Redirects are followed to http and https addresses only, at most
/// <see cref="MaxRedirects"/>. Mirrors are tried in order for each file; a checksum mismatch on one mirror moves on to
/// the next.
/// </remarks>
public sealed partial class DatasetDownloader : IDisposable
{
    /// <summary>The most redirects followed for one file.</summary>
    public const int MaxRedirects = 10;

    private const int BufferSize = 1 << 16;
    private readonly HttpClient http;
    private readonly bool ownsClient;
    private readonly CancellationTokenSource abandoned = new();
    private readonly TemporaryPaths temporaries = new();
    private readonly ConcurrentDictionary<object, (string Root, string Topmost)> createdFolders = new();
    private readonly object gate = new();
    private readonly TimeSpan stallTimeout = TimeSpan.FromSeconds(30);
    private readonly double minimumBytesPerSecond = 1024;
    private readonly TimeSpan progressInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Creates a downloader.</summary>
    /// <param name="http">The client to use (its handler decides proxies and certificates); a new one when null, disposed with
    /// the downloader. A new client follows redirects itself (to http and https only); a given client's redirects are
    /// checked where they end.</param>
    public DatasetDownloader(HttpClient? http = null)
    {
        ownsClient = http is null;
        this.http = http ?? CreateClient();
    }

    /// <summary>The longest <see cref="StallTimeout"/>: one day.</summary>
    public static TimeSpan MaxStallTimeout { get; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long to wait for the response headers, and then for each further piece of the body, before giving up; also the
    /// window over which <see cref="MinimumBytesPerSecond"/> is measured. 30 s by default; more than zero and at most
    /// <see cref="MaxStallTimeout"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero, negative, or more than a day.</exception>
    public TimeSpan StallTimeout
    {
        get => stallTimeout;
        init => stallTimeout = value > TimeSpan.Zero && value <= MaxStallTimeout ? value
            : throw new ArgumentOutOfRangeException(nameof(StallTimeout), $"The stall timeout must be more than 0 and at most {MaxStallTimeout.TotalSeconds} s, got {value}.");
    }

    /// <summary>
    /// The least mean rate, in bytes per second, over each <see cref="StallTimeout"/> of a transfer, below which the mirror
    /// is given up: 1024 by default; 0 turns the check off. Finite and not negative.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, NaN or infinite.</exception>
    public double MinimumBytesPerSecond
    {
        get => minimumBytesPerSecond;
        init => minimumBytesPerSecond = double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(MinimumBytesPerSecond), $"The minimum rate must be a finite number of bytes per second, 0 or more, got {value}.");
    }

    /// <summary>Receives progress reports on the downloading thread (throttled to <see cref="ProgressInterval"/>, plus a last one per file).</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>The least time between two progress reports of one file: 250 ms by default; between 0 and a day.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or more than a day.</exception>
    public TimeSpan ProgressInterval
    {
        get => progressInterval;
        init => progressInterval = value >= TimeSpan.Zero && value <= MaxStallTimeout ? value
            : throw new ArgumentOutOfRangeException(nameof(ProgressInterval), $"The progress interval must be between 0 and a day, got {value}.");
    }

    /// <summary>
    /// A <see cref="StallTimeout"/> from a number of seconds as a user gives it (an option's value), checked before any
    /// <see cref="TimeSpan"/> is made from it, so that <c>1e300</c> or NaN is refused in words rather than overflowing.
    /// </summary>
    /// <param name="seconds">More than 0 and at most 86,400.</param>
    /// <exception cref="ArgumentOutOfRangeException">Not a number in that range.</exception>
    public static TimeSpan StallTimeoutFromSeconds(double seconds) =>
        seconds > 0 && seconds <= MaxStallTimeout.TotalSeconds ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentOutOfRangeException(nameof(seconds), $"Expected a number of seconds more than 0 and at most {MaxStallTimeout.TotalSeconds}, got {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");

    /// <summary>
    /// Makes <paramref name="folder"/> hold <paramref name="dataset"/>: verifies the files already there, fetches the
    /// missing or damaged ones from the mirrors in order, and unpacks archives. If the call fails or is cancelled, nothing
    /// partial is left: no temporary file or folder, and the folder itself is removed again when this call created it and
    /// it is empty.
    /// </summary>
    /// <param name="dataset">The data set (for example <see cref="DatasetCatalog.Mnist"/>, or a copy with another mirror).</param>
    /// <param name="folder">The target folder (created when missing).</param>
    /// <param name="cancellationToken">Cancels the download (what it created is deleted; <see cref="OperationCanceledException"/> is thrown).</param>
    /// <exception cref="DatasetDownloadException">A file could not be fetched from any mirror, or the folder cannot be written.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled, or <see cref="CleanUp"/> was called.</exception>
    public async Task<DatasetDownloadReport> DownloadAsync(DatasetDescription dataset, string folder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (dataset.Mirrors.Count == 0) throw new ArgumentException($"{dataset.Name}: no mirror to download from.", nameof(dataset));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, abandoned.Token);
        var token = linked.Token;
        token.ThrowIfCancellationRequested();
        string root = Path.GetFullPath(folder);
        var call = new object();
        if (TopmostMissing(root) is { } created) createdFolders[call] = (root, created);
        var downloaded = new List<string>();
        var present = new List<string>();
        var unpacked = new List<string>();
        try
        {
            foreach (var file in dataset.Files)
            {
                string path = Path.Combine(root, file.Name);
                bool unpackedAlready = file.Extract.Count > 0 && IsUnpacked(root, file);
                if (File.Exists(path) && Check(file, path) is null)
                    present.Add(file.Name);
                else if (unpackedAlready)
                {
                    present.Add(file.Name);
                    continue;   // the archive was removed after unpacking: the files it held are what counts
                }
                else
                {
                    CreateFolder(dataset, root);
                    await FetchAsync(dataset, file, path, token).ConfigureAwait(false);
                    downloaded.Add(file.Name);
                }
                if (file.Extract.Count > 0 && !unpackedAlready)
                    unpacked.AddRange(Unpack(dataset, file, path, root, token));
            }
        }
        catch
        {
            if (createdFolders.TryGetValue(call, out var folders)) TryRemoveEmptyFolders(folders.Root, folders.Topmost);
            throw;
        }
        finally
        {
            createdFolders.TryRemove(call, out _);
        }
        return new DatasetDownloadReport(root, downloaded, present, unpacked);
    }

    /// <summary>
    /// Cancels every download of this downloader that is still running and deletes, before returning, what they have
    /// created and not finished: temporary files, unpacking folders, and the target folders they created when these are
    /// empty (verified files stay). For a handler of process termination (<c>AppDomain.ProcessExit</c>, or
    /// <c>PosixSignalRegistration</c> for SIGTERM), where a cancelled download's own cleanup would not get to run; safe
    /// from any thread and more than once. The downloader takes no download afterwards (they end in
    /// <see cref="OperationCanceledException"/>).
    /// </summary>
    public void CleanUp()
    {
        // Under the gate, no temporary file is being created or moved into place while the downloads are cancelled.
        lock (gate) abandoned.Cancel();
        temporaries.DeleteAll();
        foreach (var (root, topmost) in createdFolders.Values) TryRemoveEmptyFolders(root, topmost);
    }

    /// <summary>
    /// Checks a file on disk against its description: null when its size and every checksum match, else the first
    /// difference in words.
    /// </summary>
    /// <param name="file">The description.</param>
    /// <param name="path">The file on disk.</param>
    public static string? Check(DatasetFile file, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists) return "missing";
        if (file.Size is { } size && info.Length != size) return $"{info.Length} bytes, expected {size}";
        using var hashes = new FileHashes(file);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize))
        {
            var buffer = new byte[BufferSize];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) hashes.Append(buffer.AsSpan(0, n));
        }
        return hashes.Mismatch(file);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsClient) http.Dispose();
        abandoned.Dispose();
    }

    private static HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, AllowAutoRedirect = false };
        var client = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,   // the stall timeout covers headers and body
        };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("LocallyMasked-Training", "0.1"));
        return client;
    }

    private static void CreateFolder(DatasetDescription dataset, string root)
    {
        try
        {
            Directory.CreateDirectory(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetDownloadException($"Cannot create the folder {root} ({FirstLine(e.Message)}). {ManualHint(dataset, root)}", null, e);
        }
    }

    private static bool IsUnpacked(string root, DatasetFile archive) =>
        archive.Extract.All(entry => new FileInfo(Path.Combine(root, entry.Path)) is { Exists: true } info && info.Length == entry.Size);

    private IEnumerable<string> Unpack(DatasetDescription dataset, DatasetFile file, string path, string root, CancellationToken token)
    {
        try
        {
            TarGzArchive.Extract(path, root, file.Extract, temporaries, cancellationToken: token);
            return file.Extract.Select(e => e.Path).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetDownloadException($"Cannot unpack {path}: {FirstLine(e.Message)}. {ManualHint(dataset, root)}", null, e);
        }
    }

    private static string ManualHint(DatasetDescription dataset, string folder) =>
        $"To get the files by hand, download them from {UrlRedaction.Redact(dataset.HomePage)} and put them in {folder}: {dataset.Layout}.";

    /// <summary>The outermost folder of <paramref name="folder"/>'s path that does not exist yet, or null when it exists.</summary>
    private static string? TopmostMissing(string folder)
    {
        string? missing = null;
        for (var d = folder; !string.IsNullOrEmpty(d) && !Directory.Exists(d); d = Path.GetDirectoryName(d)) missing = d;
        return missing;
    }

    /// <summary>
    /// Removes <paramref name="folder"/> and its parents up to <paramref name="topmost"/> as long as they are empty; a
    /// folder already removed (by a download unwinding while <see cref="CleanUp"/> runs) is passed over.
    /// </summary>
    private static void TryRemoveEmptyFolders(string folder, string topmost)
    {
        for (var d = folder; d is not null && d.Length >= topmost.Length; d = Path.GetDirectoryName(d))
        {
            try
            {
                if (!Directory.Exists(d)) continue;
                if (Directory.EnumerateFileSystemEntries(d).Any()) return;
                Directory.Delete(d);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (IOException)
            {
                if (Directory.Exists(d)) return;   // not empty after all
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(new[] { '\r', '\n' });
        return (end < 0 ? text : text[..end]).TrimEnd('.');
    }
}
