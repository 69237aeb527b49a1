using System.Diagnostics;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>
/// The downloader against hostile or broken servers and options: a server that trickles a byte at a time, redirects to
/// file:// and in a loop, credentials in a mirror's address, timeouts that cannot be, and a process ended in the middle
/// of a download (<see cref="DatasetDownloader.CleanUp"/>). Each ends in one line, quickly, with nothing left behind.
/// </summary>
public sealed class DatasetDownloaderHostileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-download-hostile-").FullName;
    private readonly LoopbackServer server = new();

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    private static string[] Leftovers(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories) : Array.Empty<string>();

    private DatasetDescription Serve(string prefix, int bytes = 200)
    {
        var files = new Dictionary<string, byte[]> { ["data.bin"] = Enumerable.Range(0, bytes).Select(i => (byte)i).ToArray() };
        foreach (var (name, data) in files) server.Files[name] = data;
        return DataFixtures.Describe("hostile", files, new Uri(server.BaseUrl, prefix));
    }

    [Fact]
    public async Task A_server_that_sends_a_byte_every_100_ms_is_given_up_below_the_minimum_rate()
    {
        // 200 bytes at 10 bytes/s would take 20 s; the silence timer never trips, the default minimum rate (1024 bytes/s
        // over each stall timeout) does.
        var dataset = Serve("trickle/");
        string target = Path.Combine(dir, "trickle");
        using var downloader = new DatasetDownloader { StallTimeout = TimeSpan.FromSeconds(1) };
        var clock = Stopwatch.StartNew();

        var act = () => downloader.DownloadAsync(dataset, target).WaitAsync(TimeSpan.FromSeconds(10));

        (await act.Should().ThrowAsync<DatasetDownloadException>()).WithMessage("*slowed to * bytes/s over * s after * bytes, below the minimum of 1024 bytes/s*");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        Leftovers(target).Should().BeEmpty("the temporary file and the folder the call made are removed");
    }

    [Fact]
    public async Task A_redirect_to_a_file_address_is_refused_in_words_and_http_redirects_are_followed()
    {
        string target = Path.Combine(dir, "redirect");
        using var downloader = new DatasetDownloader { StallTimeout = TimeSpan.FromSeconds(5) };

        var toFile = () => downloader.DownloadAsync(Serve("redirect-file/"), target);
        (await toFile.Should().ThrowAsync<DatasetDownloadException>())
            .WithMessage("Could not download */redirect-file/data.bin: the server redirects to file:///etc/passwd, which is not an http:// or https:// address*")
            .Which.Message.Should().NotContainAny("\n", "\r");
        Leftovers(target).Should().BeEmpty();

        var loop = () => downloader.DownloadAsync(Serve("redirect-loop/"), target);
        (await loop.Should().ThrowAsync<DatasetDownloadException>()).WithMessage("*more than 10 redirects*");

        var report = await downloader.DownloadAsync(Serve("redirect/"), target);
        report.Downloaded.Should().Equal("data.bin");
        File.ReadAllBytes(Path.Combine(target, "data.bin")).Should().Equal(server.Files["data.bin"]);
    }

    [Fact]
    public async Task Credentials_in_a_mirror_address_never_appear_in_a_message()
    {
        var files = new Dictionary<string, byte[]> { ["data.bin"] = new byte[] { 1, 2, 3 } };
        var secret = new UriBuilder(new Uri(server.BaseUrl, "missing/")) { UserName = "alice", Password = "s3cr3t-pw" }.Uri;
        var unreachable = new UriBuilder(LoopbackServer.Unreachable()) { UserName = "bob", Password = "hunter2" }.Uri;
        var dataset = DataFixtures.Describe("secret", files, secret, unreachable);
        using var downloader = new DatasetDownloader { StallTimeout = TimeSpan.FromSeconds(5) };

        var act = () => downloader.DownloadAsync(dataset, Path.Combine(dir, "secret"));

        var thrown = (await act.Should().ThrowAsync<DatasetDownloadException>()).Which;
        thrown.Message.Should().NotContainAny("s3cr3t-pw", "hunter2", "alice:", "bob:").And.Contain("***@127.0.0.1").And.Contain("HTTP 404");
        thrown.Url!.ToString().Should().NotContain("s3cr3t-pw");
        UrlRedaction.Redact(secret).Should().Be(new Uri(server.BaseUrl, "missing/").AbsoluteUri.Replace("http://", "http://***@"));
        var mirror = () => dataset.WithMirror(new Uri("ftp://carol:pw123@example.org/"));
        mirror.Should().Throw<ArgumentException>().Which.Message.Should().NotContain("pw123");
    }

    [Fact]
    public void Timeouts_and_rates_that_cannot_be_are_refused_when_set()
    {
        var forever = () => new DatasetDownloader { StallTimeout = TimeSpan.MaxValue };
        forever.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*stall timeout must be more than 0 and at most 86400 s*");
        var zero = () => new DatasetDownloader { StallTimeout = TimeSpan.Zero };
        zero.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("StallTimeout");
        var rate = () => new DatasetDownloader { MinimumBytesPerSecond = double.NaN };
        rate.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MinimumBytesPerSecond");
        // From a user's number of seconds, before any TimeSpan overflows.
        foreach (var seconds in new[] { 1e300, double.NaN, double.PositiveInfinity, 0, -1, 86_401 })
        {
            var fromSeconds = () => DatasetDownloader.StallTimeoutFromSeconds(seconds);
            fromSeconds.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().NotContainAny("\n", "\r");
        }
        DatasetDownloader.StallTimeoutFromSeconds(2.5).Should().Be(TimeSpan.FromSeconds(2.5));
    }

    [Fact]
    public async Task CleanUp_during_a_download_removes_the_temporary_file_and_the_folder_before_it_returns()
    {
        // As a SIGTERM handler would: the download is in the middle of its transfer, and its own cleanup may never run.
        var dataset = Serve("stall/", bytes: 100_000);
        string parent = Path.Combine(dir, "made", "by");
        string target = Path.Combine(parent, "download");
        var downloader = new DatasetDownloader { StallTimeout = TimeSpan.FromSeconds(30) };
        var download = downloader.DownloadAsync(dataset, target);
        var clock = Stopwatch.StartNew();
        while (!Leftovers(target).Any(f => f.EndsWith(".tmp", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(10);
        Leftovers(target).Should().ContainSingle(f => f.EndsWith(".tmp", StringComparison.Ordinal), "the transfer is under way");

        downloader.CleanUp();

        Leftovers(Path.Combine(dir, "made")).Should().BeEmpty();
        Directory.Exists(Path.Combine(dir, "made")).Should().BeFalse("the temporary file and every folder the download made are gone when CleanUp returns");
        await download.Invoking(d => d).Should().ThrowAsync<OperationCanceledException>();
        var again = () => downloader.DownloadAsync(dataset, target);
        await again.Should().ThrowAsync<OperationCanceledException>("a cleaned-up downloader takes no more downloads");
        Directory.Exists(Path.Combine(dir, "made")).Should().BeFalse();
        downloader.Dispose();
    }

    [Fact]
    public void An_unpacking_that_is_cancelled_leaves_no_temporary_folder()
    {
        var archive = Path.Combine(dir, "cifar-10-binary.tar.gz");
        File.WriteAllBytes(archive, DataFixtures.CifarArchive(records: 2));
        var entries = Cifar10Reader.TrainingFiles.Select(n => new ArchiveEntry("cifar-10-batches-bin/" + n, 2L * Cifar10Reader.RecordSize)).ToArray();
        string target = Path.Combine(dir, "unpacked");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        var act = () => TarGzArchive.Extract(archive, target, entries, cancellationToken: cancelled.Token);

        act.Should().Throw<OperationCanceledException>();
        Leftovers(target).Should().BeEmpty("the temporary folder is deleted and nothing is moved into place");
    }
}
