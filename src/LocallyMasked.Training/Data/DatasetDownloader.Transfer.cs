using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace LocallyMasked.Training.Data;

/// <summary>One file from the mirrors: the request and its redirects, the checked transfer, the move into place.</summary>
public sealed partial class DatasetDownloader
{
    private async Task FetchAsync(DatasetDescription dataset, DatasetFile file, string path, CancellationToken token)
    {
        var failures = new List<(Uri Url, string Reason)>();
        foreach (var mirror in dataset.Mirrors)
        {
            var url = new Uri(mirror, file.Name);
            try
            {
                await FetchFromAsync(dataset, url, file, path, token).ConfigureAwait(false);
                return;
            }
            catch (RemoteFailure failure)
            {
                failures.Add((url, UrlRedaction.Redact(failure.Message, url)));
            }
        }
        string others = failures.Count > 1
            ? " (also tried " + string.Join("; ", failures.Skip(1).Select(f => $"{UrlRedaction.Redact(f.Url)}: {f.Reason}")) + ")"
            : string.Empty;
        throw new DatasetDownloadException(
            $"Could not download {UrlRedaction.Redact(failures[0].Url)}: {failures[0].Reason}{others}. {ManualHint(dataset, Path.GetDirectoryName(path)!)}",
            new Uri(UrlRedaction.Redact(failures[0].Url)));
    }

    private async Task FetchFromAsync(DatasetDescription dataset, Uri url, DatasetFile file, string path, CancellationToken token)
    {
        string folder = Path.GetDirectoryName(path)!;
        string temporary = Path.Combine(folder, $"{file.Name}.{Path.GetRandomFileName()}.tmp");
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(token);
        long bytes = 0;
        bool answered = false;
        var clock = new Stopwatch();
        // The temporary file comes first, so that an unwritable folder fails before any request; it is recorded (under the
        // gate, so that CleanUp cannot miss it) before it exists.
        FileStream output;
        lock (gate)
        {
            token.ThrowIfCancellationRequested();
            temporaries.Add(temporary, folder: false);
            try
            {
                output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                temporaries.Forget(temporary);
                throw new DatasetDownloadException(
                    $"Cannot write to {folder} ({FirstLine(e.Message)}); choose a folder you can write to. {ManualHint(dataset, folder)}", null, e);
            }
        }
        try
        {
            stall.CancelAfter(StallTimeout);
            using var response = await GetFollowingRedirectsAsync(url, stall.Token).ConfigureAwait(false);
            answered = true;
            if (!response.IsSuccessStatusCode)
                throw new RemoteFailure($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            long? announced = response.Content.Headers.ContentLength;
            if (file.Size is { } expected && announced is { } length && length != expected)
                throw new RemoteFailure($"the server announces {length} bytes, expected {expected}");
            long? total = file.Size ?? announced;

            using var hashes = new FileHashes(file);
            await using (output.ConfigureAwait(false))
            {
                var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
                await using var bodyScope = body.ConfigureAwait(false);
                var buffer = new byte[BufferSize];
                clock.Start();
                var lastReport = TimeSpan.Zero;
                var windowStart = TimeSpan.Zero;
                long windowBytes = 0;
                Report(file, bytes, total, clock.Elapsed, completed: false);
                while (true)
                {
                    stall.CancelAfter(StallTimeout);
                    int n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                    if (n == 0) break;
                    bytes += n;
                    windowBytes += n;
                    if (total is { } limit && bytes > limit)
                        throw new RemoteFailure($"the server sent more than the expected {limit} bytes");
                    hashes.Append(buffer.AsSpan(0, n));
                    WriteLocal(dataset, folder, () => output.Write(buffer, 0, n));
                    // Silence is caught by the stall timer; a trickle (a byte a second resets it) by the mean rate of each window.
                    var window = clock.Elapsed - windowStart;
                    if (window >= StallTimeout)
                    {
                        double rate = windowBytes / window.TotalSeconds;
                        if (rate < MinimumBytesPerSecond && total != bytes)
                            throw new RemoteFailure(string.Create(CultureInfo.InvariantCulture,
                                $"the transfer slowed to {rate:0.#} bytes/s over {window.TotalSeconds:0.#} s after {bytes} bytes, below the minimum of {MinimumBytesPerSecond:0.#} bytes/s"));
                        (windowStart, windowBytes) = (clock.Elapsed, 0);
                    }
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
            lock (gate)
            {
                token.ThrowIfCancellationRequested();
                WriteLocal(dataset, folder, () => File.Move(temporary, path, overwrite: true));
                temporaries.Forget(temporary);
            }
            Report(file, bytes, file.Size ?? bytes, clock.Elapsed, completed: true);   // only once the file verified
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
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
            temporaries.Delete(temporary);
        }
    }

    /// <summary>
    /// The response for <paramref name="url"/>, following redirects to http and https addresses (at most
    /// <see cref="MaxRedirects"/>); a redirect elsewhere (<c>file://</c>, <c>ftp://</c>) is a failure of this mirror.
    /// </summary>
    private async Task<HttpResponseMessage> GetFollowingRedirectsAsync(Uri url, CancellationToken token)
    {
        var current = url;
        for (int redirects = 0; ; redirects++)
        {
            var response = await http.GetAsync(current, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            // A caller's client may follow redirects itself: check where it ended.
            if (response.RequestMessage?.RequestUri is { } reached && !IsHttp(reached))
            {
                response.Dispose();
                throw new RemoteFailure($"the server redirects to {UrlRedaction.Redact(reached)}, which is not an http:// or https:// address");
            }
            if (response.StatusCode is not (HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
                    or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect)
                || response.Headers.Location is not { } location)
                return response;
            response.Dispose();
            var target = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (!IsHttp(target))
                throw new RemoteFailure($"the server redirects to {UrlRedaction.Redact(target)}, which is not an http:// or https:// address; only those are followed");
            if (redirects == MaxRedirects) throw new RemoteFailure($"more than {MaxRedirects} redirects (the last to {UrlRedaction.Redact(target)})");
            current = target;
        }
    }

    private static bool IsHttp(Uri url) => url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps);

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
        TimeSpan? left = total is { } t && rate > 0 ? TimeSpan.FromSeconds(Math.Min(Math.Max(0, t - bytes) / rate, MaxStallTimeout.TotalSeconds * 365)) : null;
        Progress.Report(new DownloadProgress(file.Name, bytes, total, rate, left, completed));
    }

    /// <summary>A failure of one mirror (the next mirror is tried); its message is the reason in words.</summary>
    private sealed class RemoteFailure(string reason) : Exception(reason);
}
