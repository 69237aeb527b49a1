using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace LocallyMasked.Training.Data;

/// <summary>
/// Downloads a data set into a folder the way torchvision's <c>download=True</c> does, with stricter guarantees: each
/// file streams to a temporary name in the target folder (<c>&lt;name&gt;.&lt;random&gt;.tmp</c>) while its MD5 and
/// SHA-256 are computed, and is moved to its name only when its size and every published checksum match; a file
/// that is already there and verifies is not fetched again; archives are unpacked through a temporary folder. On any
/// failure the temporary file is deleted and a <see cref="DatasetDownloadException"/> says which address or folder
/// failed, why, where to get the files by hand and what the folder must hold.
/// </summary>
/// <remarks>
/// <see cref="HttpClient.Timeout"/> covers only the response headers when a body is streamed, so the downloader
/// cancels a transfer itself when no byte arrives for <see cref="StallTimeout"/> (the same limit applies to the
/// headers). Mirrors are tried in order for each file; a checksum mismatch on one mirror moves on to the next.
/// </remarks>
public sealed class DatasetDownloader : IDisposable
{
    private const int BufferSize = 1 << 16;
    private readonly HttpClient http;
    private readonly bool ownsClient;

    /// <summary>Creates a downloader.</summary>
    /// <param name="http">The client to use (its handler decides proxies and certificates); a new one when null, disposed with the downloader.</param>
    public DatasetDownloader(HttpClient? http = null)
    {
        ownsClient = http is null;
        this.http = http ?? CreateClient();
    }

    /// <summary>How long to wait for the response headers, and then for each further piece of the body, before giving up.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Receives progress reports on the downloading thread (throttled to <see cref="ProgressInterval"/>, plus a last one per file).</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>The least time between two progress reports of one file.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Makes <paramref name="folder"/> hold <paramref name="dataset"/>: verifies the files already there, fetches the
    /// missing or damaged ones from the mirrors in order, and unpacks archives. If the call fails, nothing partial is
    /// left: no temporary file, and the folder itself is removed again when this call created it and it is empty.
    /// </summary>
    /// <param name="dataset">The data set (for example <see cref="DatasetCatalog.Mnist"/>, or a copy with another mirror).</param>
    /// <param name="folder">The target folder (created when missing).</param>
    /// <param name="cancellationToken">Cancels the download (the temporary file is deleted; <see cref="OperationCanceledException"/> is thrown).</param>
    public async Task<DatasetDownloadReport> DownloadAsync(DatasetDescription dataset, string folder, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (dataset.Mirrors.Count == 0) throw new ArgumentException($"{dataset.Name}: no mirror to download from.", nameof(dataset));
        string root = Path.GetFullPath(folder);
        string? created = TopmostMissing(root);
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
                    await FetchAsync(dataset, file, path, cancellationToken).ConfigureAwait(false);
                    downloaded.Add(file.Name);
                }
                if (file.Extract.Count > 0 && !unpackedAlready)
                    unpacked.AddRange(Unpack(dataset, file, path, root));
            }
        }
        catch
        {
            if (created is not null) TryRemoveEmptyFolders(root, created);
            throw;
        }
        return new DatasetDownloadReport(root, downloaded, present, unpacked);
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
        using var hashes = new Hashes(file);
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
    }

    private static HttpClient CreateClient()
    {
        var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,   // the stall timeout below covers headers and body
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

    private async Task FetchAsync(DatasetDescription dataset, DatasetFile file, string path, CancellationToken cancellationToken)
    {
        var failures = new List<(Uri Url, string Reason)>();
        foreach (var mirror in dataset.Mirrors)
        {
            var url = new Uri(mirror, file.Name);
            try
            {
                await FetchFromAsync(dataset, url, file, path, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RemoteFailure failure)
            {
                failures.Add((url, failure.Message));
            }
        }
        string others = failures.Count > 1
            ? " (also tried " + string.Join("; ", failures.Skip(1).Select(f => $"{f.Url}: {f.Reason}")) + ")"
            : string.Empty;
        throw new DatasetDownloadException(
            $"Could not download {failures[0].Url}: {failures[0].Reason}{others}. {ManualHint(dataset, Path.GetDirectoryName(path)!)}",
            failures[0].Url);
    }

    private async Task FetchFromAsync(DatasetDescription dataset, Uri url, DatasetFile file, string path, CancellationToken cancellationToken)
    {
        string folder = Path.GetDirectoryName(path)!;
        string temporary = Path.Combine(folder, $"{file.Name}.{Path.GetRandomFileName()}.tmp");
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long bytes = 0;
        bool answered = false;
        var clock = new Stopwatch();
        // The temporary file comes first, so that an unwritable folder fails before any request.
        FileStream output;
        try
        {
            output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetDownloadException(
                $"Cannot write to {folder} ({FirstLine(e.Message)}); choose a folder you can write to. {ManualHint(dataset, folder)}", null, e);
        }
        try
        {
            stall.CancelAfter(StallTimeout);
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
            answered = true;
            if (!response.IsSuccessStatusCode)
                throw new RemoteFailure($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            long? announced = response.Content.Headers.ContentLength;
            if (file.Size is { } expected && announced is { } length && length != expected)
                throw new RemoteFailure($"the server announces {length} bytes, expected {expected}");
            long? total = file.Size ?? announced;

            using var hashes = new Hashes(file);
            await using (output.ConfigureAwait(false))
            {
                var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                await using var bodyScope = body.ConfigureAwait(false);
                var buffer = new byte[BufferSize];
                clock.Start();
                var lastReport = TimeSpan.Zero;
                Report(file, bytes, total, clock.Elapsed, completed: false);
                while (true)
                {
                    stall.CancelAfter(StallTimeout);
                    int n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                    if (n == 0) break;
                    bytes += n;
                    if (total is { } limit && bytes > limit)
                        throw new RemoteFailure($"the server sent more than the expected {limit} bytes");
                    hashes.Append(buffer.AsSpan(0, n));
                    WriteLocal(dataset, folder, () => output.Write(buffer, 0, n));
                    if (clock.Elapsed - lastReport >= ProgressInterval)
                    {
                        lastReport = clock.Elapsed;
                        Report(file, bytes, total, clock.Elapsed, completed: false);
                    }
                }
                if (total is { } size && bytes != size)
                    throw new RemoteFailure($"the transfer ended after {bytes} of {size} bytes");
                WriteLocal(dataset, folder, () => output.Flush(flushToDisk: true));
            }
            if (hashes.Mismatch(file) is { } mismatch)
                throw new RemoteFailure($"checksum mismatch ({mismatch}): the file is not the published one");
            WriteLocal(dataset, folder, () => File.Move(temporary, path, overwrite: true));
            Report(file, bytes, file.Size ?? bytes, clock.Elapsed, completed: true);   // only once the file verified
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RemoteFailure(!answered
                ? $"no response within {StallTimeout.TotalSeconds:0.#} s"
                : $"no data for {StallTimeout.TotalSeconds:0.#} s after {bytes} bytes");
        }
        catch (HttpRequestException e)
        {
            throw new RemoteFailure(
                bytes > 0 ? $"the connection broke after {bytes} bytes ({FirstLine(e.Message)})"
                : e.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError
                    ? $"cannot connect ({FirstLine(e.Message)})"
                    : FirstLine(e.Message));
        }
        catch (IOException e) when (e is not DatasetDownloadException)
        {
            // Socket errors while reading the body (a cut connection) surface as IOException.
            throw new RemoteFailure($"the connection broke after {bytes} bytes ({FirstLine(e.Message)})");
        }
        finally
        {
            await output.DisposeAsync().ConfigureAwait(false);   // a second dispose after the using block is harmless
            TryDelete(temporary);
        }
    }

    /// <summary>Runs a write to the target folder, turning its failure (disk full, permissions) into one clear message.</summary>
    private static void WriteLocal(DatasetDescription dataset, string folder, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetDownloadException(
                $"Cannot write to {folder} ({FirstLine(e.Message)}); choose a folder you can write to. {ManualHint(dataset, folder)}", null, e);
        }
    }

    private void Report(DatasetFile file, long bytes, long? total, TimeSpan elapsed, bool completed)
    {
        if (Progress is null) return;
        double rate = elapsed.TotalSeconds > 0 ? bytes / elapsed.TotalSeconds : 0;
        TimeSpan? left = total is { } t && rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, t - bytes) / rate) : null;
        Progress.Report(new DownloadProgress(file.Name, bytes, total, rate, left, completed));
    }

    private static bool IsUnpacked(string root, DatasetFile archive) =>
        archive.Extract.All(entry => new FileInfo(Path.Combine(root, entry.Path)) is { Exists: true } info && info.Length == entry.Size);

    private static IEnumerable<string> Unpack(DatasetDescription dataset, DatasetFile file, string path, string root)
    {
        try
        {
            TarGzArchive.Extract(path, root, file.Extract);
            return file.Extract.Select(e => e.Path).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetDownloadException($"Cannot unpack {path}: {FirstLine(e.Message)}. {ManualHint(dataset, root)}", null, e);
        }
    }

    private static string ManualHint(DatasetDescription dataset, string folder) =>
        $"To get the files by hand, download them from {dataset.HomePage} and put them in {folder}: {dataset.Layout}.";

    /// <summary>The outermost folder of <paramref name="folder"/>'s path that does not exist yet, or null when it exists.</summary>
    private static string? TopmostMissing(string folder)
    {
        string? missing = null;
        for (var d = folder; !string.IsNullOrEmpty(d) && !Directory.Exists(d); d = Path.GetDirectoryName(d)) missing = d;
        return missing;
    }

    /// <summary>Removes <paramref name="folder"/> and its parents up to <paramref name="topmost"/> as long as they are empty.</summary>
    private static void TryRemoveEmptyFolders(string folder, string topmost)
    {
        try
        {
            for (var d = folder; d is not null && d.Length >= topmost.Length; d = Path.GetDirectoryName(d))
            {
                if (!Directory.Exists(d) || Directory.EnumerateFileSystemEntries(d).Any()) return;
                Directory.Delete(d);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOfAny(new[] { '\r', '\n' });
        return (end < 0 ? text : text[..end]).TrimEnd('.');
    }

    /// <summary>A failure of one mirror (the next mirror is tried); its message is the reason in words.</summary>
    private sealed class RemoteFailure(string reason) : Exception(reason);

    /// <summary>The MD5 and SHA-256 of a stream, computed as it is written (only those the description publishes).</summary>
    private sealed class Hashes : IDisposable
    {
        private readonly IncrementalHash? md5;
        private readonly IncrementalHash? sha256;

        public Hashes(DatasetFile file)
        {
            if (file.Md5 is not null) md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            if (file.Sha256 is not null) sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            md5?.AppendData(data);
            sha256?.AppendData(data);
        }

        public string? Mismatch(DatasetFile file)
        {
            if (md5 is not null && Hex(md5.GetHashAndReset()) is var m && m != file.Md5) return $"MD5 {m}, expected {file.Md5}";
            if (sha256 is not null && Hex(sha256.GetHashAndReset()) is var s && s != file.Sha256) return $"SHA-256 {s}, expected {file.Sha256}";
            return null;
        }

        public void Dispose()
        {
            md5?.Dispose();
            sha256?.Dispose();
        }

        private static string Hex(byte[] hash) => Convert.ToHexString(hash).ToLowerInvariant();
    }
}
