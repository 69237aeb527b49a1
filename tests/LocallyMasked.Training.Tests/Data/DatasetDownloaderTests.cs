using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>The downloader against a loopback HTTP server in this process: real formats, small files, no network.</summary>
public sealed class DatasetDownloaderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-download-").FullName;
    private readonly LoopbackServer server = new();

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = new();

        public void Report(DownloadProgress value) => Reports.Add(value);
    }

    private static DatasetDownloader Downloader(IProgress<DownloadProgress>? progress = null, double stallSeconds = 10) =>
        new() { Progress = progress, StallTimeout = TimeSpan.FromSeconds(stallSeconds) };

    private static string[] Leftovers(string folder) =>
        Directory.Exists(folder) ? Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories) : Array.Empty<string>();

    private DatasetDescription ServeMnist(Uri? mirror = null)
    {
        var files = DataFixtures.MnistFiles();
        foreach (var (name, data) in files) server.Files[name] = data;
        return DataFixtures.Describe("mnist-fixture", files, mirror ?? server.BaseUrl);
    }

    [Fact]
    public async Task DownloadsVerifiesAndReportsProgressThenTheReaderReadsTheFolder()
    {
        var dataset = ServeMnist();
        var progress = new Recorder();
        string target = Path.Combine(dir, "mnist");
        using var downloader = Downloader(progress);

        var report = await downloader.DownloadAsync(dataset, target);

        report.Downloaded.Should().BeEquivalentTo(dataset.Files.Select(f => f.Name));
        report.AlreadyPresent.Should().BeEmpty();
        Directory.GetFiles(target).Select(Path.GetFileName).Should().BeEquivalentTo(dataset.Files.Select(f => f.Name), "no temporary file is left");
        var train = IdxReader.ReadDirectory(target, train: true);
        var test = IdxReader.ReadDirectory(target, train: false);   // the t10k- names
        (train.Count, test.Count, test.Label(0)).Should().Be((5, 3, (byte)9));
        var last = progress.Reports.Where(r => r.Completed).Should().HaveCount(4).And.Subject.Last();
        last.BytesDone.Should().Be(last.TotalBytes);
        progress.Reports.Should().OnlyContain(r => r.BytesPerSecond >= 0 && r.BytesDone <= r.TotalBytes);
    }

    [Fact]
    public async Task AFileThatIsThereAndVerifiesIsNotFetchedAgain()
    {
        var dataset = ServeMnist();
        string target = Path.Combine(dir, "mnist");
        Directory.CreateDirectory(target);
        foreach (var (name, data) in server.Files) File.WriteAllBytes(Path.Combine(target, name), data);
        using var downloader = Downloader();

        var report = await downloader.DownloadAsync(dataset, target);

        server.Requests.Should().BeEmpty("verified files are not requested");
        report.AlreadyPresent.Should().HaveCount(4);
        report.Downloaded.Should().BeEmpty();
    }

    [Fact]
    public async Task ADamagedFileIsFetchedAgainAndReplaced()
    {
        var dataset = ServeMnist();
        string target = Path.Combine(dir, "mnist");
        Directory.CreateDirectory(target);
        foreach (var (name, data) in server.Files) File.WriteAllBytes(Path.Combine(target, name), data);
        var damaged = Path.Combine(target, "t10k-labels-idx1-ubyte.gz");
        var bytes = File.ReadAllBytes(damaged);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);
        using var downloader = Downloader();

        var report = await downloader.DownloadAsync(dataset, target);

        server.Requests.Should().Equal("t10k-labels-idx1-ubyte.gz");
        report.Downloaded.Should().Equal("t10k-labels-idx1-ubyte.gz");
        File.ReadAllBytes(damaged).Should().Equal(server.Files["t10k-labels-idx1-ubyte.gz"]);
    }

    [Fact]
    public async Task AChecksumMismatchLeavesNothingAndSaysWhereToGetTheFiles()
    {
        var dataset = ServeMnist();
        server.Files["train-labels-idx1-ubyte.gz"] = server.Files["t10k-labels-idx1-ubyte.gz"];   // same format, other bytes
        var tampered = dataset with
        {
            // Keep the size right so that only the checksum can tell.
            Files = dataset.Files.Select(f => f.Name == "train-labels-idx1-ubyte.gz"
                ? new DatasetFile(f.Name, server.Files[f.Name].Length, f.Md5, f.Sha256) : f).ToArray(),
        };
        string target = Path.Combine(dir, "mnist");
        var progress = new Recorder();
        using var downloader = Downloader(progress);

        var act = () => downloader.DownloadAsync(tampered, target);

        var error = (await act.Should().ThrowAsync<DatasetDownloadException>()).Which;
        error.Message.Should().Contain($"{server.BaseUrl}train-labels-idx1-ubyte.gz").And.Contain("checksum mismatch (MD5")
            .And.Contain("https://example.org/get-the-data").And.Contain("the four IDX files").And.NotContain("\n");
        error.Url.Should().Be(new Uri(server.BaseUrl, "train-labels-idx1-ubyte.gz"));
        Leftovers(target).Select(Path.GetFileName).Should().Equal(new[] { "train-images-idx3-ubyte.gz" },
            "the file verified before the failure stays; no temporary or unverified file is left");
        progress.Reports.Where(r => r.Completed).Select(r => r.File).Should().Equal(new[] { "train-images-idx3-ubyte.gz" },
            "a file is reported complete only once it verified");
    }

    [Fact]
    public async Task A404NamesTheAddressAndLeavesNoFolderBehind()
    {
        var dataset = DataFixtures.Describe("missing", DataFixtures.MnistFiles(), server.BaseUrl);   // nothing served
        string target = Path.Combine(dir, "new", "nested", "folder");
        using var downloader = Downloader();

        var act = () => downloader.DownloadAsync(dataset, target);

        (await act.Should().ThrowAsync<DatasetDownloadException>())
            .WithMessage($"Could not download {server.BaseUrl}train-images-idx3-ubyte.gz: HTTP 404*get the files by hand*{target}*");
        Directory.Exists(Path.Combine(dir, "new")).Should().BeFalse("the folders this call created are removed again");
    }

    [Fact]
    public async Task AConnectionCutMidFileLeavesNothingBehind()
    {
        var files = DataFixtures.MnistFiles();
        foreach (var (name, data) in files) server.Files[name] = data;
        var dataset = DataFixtures.Describe("cut", files, new Uri(server.BaseUrl, "cut/"));
        string target = Path.Combine(dir, "cut");
        using var downloader = Downloader();

        var act = () => downloader.DownloadAsync(dataset, target);

        (await act.Should().ThrowAsync<DatasetDownloadException>())
            .WithMessage($"Could not download {server.BaseUrl}cut/train-images-idx3-ubyte.gz: *after * bytes*");
        Leftovers(target).Should().BeEmpty();
        Directory.Exists(target).Should().BeFalse();
    }

    [Fact]
    public async Task AStalledTransferIsAbandonedAfterTheStallTimeout()
    {
        var files = DataFixtures.MnistFiles();
        foreach (var (name, data) in files) server.Files[name] = data;
        var dataset = DataFixtures.Describe("stall", files, new Uri(server.BaseUrl, "stall/"));
        string target = Path.Combine(dir, "stall");
        using var downloader = Downloader(stallSeconds: 0.5);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var act = () => downloader.DownloadAsync(dataset, target);

        (await act.Should().ThrowAsync<DatasetDownloadException>()).WithMessage("*no data for 0.5 s after * bytes*");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20));
        Leftovers(target).Should().BeEmpty();
    }

    [Fact]
    public async Task AnUnreachableAddressIsNamedAndTheNextMirrorIsTried()
    {
        var dataset = ServeMnist();
        var unreachable = LoopbackServer.Unreachable();
        string target = Path.Combine(dir, "mirrors");
        using var downloader = Downloader();

        var offline = () => downloader.DownloadAsync(dataset with { Mirrors = new[] { unreachable } }, target);
        (await offline.Should().ThrowAsync<DatasetDownloadException>())
            .WithMessage($"Could not download {unreachable}train-images-idx3-ubyte.gz: *refused*");
        Directory.Exists(target).Should().BeFalse();

        var report = await downloader.DownloadAsync(dataset with { Mirrors = new[] { unreachable, server.BaseUrl } }, target);
        report.Downloaded.Should().HaveCount(4);
    }

    [Fact]
    public async Task WithMirrorReplacesTheBaseAddress()
    {
        var dataset = ServeMnist(new Uri("http://example.invalid/"));
        string target = Path.Combine(dir, "mirror");
        using var downloader = Downloader();

        var report = await downloader.DownloadAsync(dataset.WithMirror(new Uri(server.BaseUrl.AbsoluteUri.TrimEnd('/'))), target);

        report.Downloaded.Should().HaveCount(4);
        server.Requests.Should().Contain("t10k-images-idx3-ubyte.gz");
        var bad = () => dataset.WithMirror(new Uri("ftp://example.org/"));
        bad.Should().Throw<ArgumentException>().WithMessage("*http*");
    }

    [Fact]
    public async Task CancellationDeletesTheTemporaryFile()
    {
        var files = DataFixtures.MnistFiles();
        foreach (var (name, data) in files) server.Files[name] = data;
        var dataset = DataFixtures.Describe("cancel", files, new Uri(server.BaseUrl, "stall/"));
        string target = Path.Combine(dir, "cancel");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        using var downloader = Downloader();

        var act = () => downloader.DownloadAsync(dataset, target, cancel.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        Leftovers(target).Should().BeEmpty();
    }

    [Fact]
    public async Task AReadOnlyFolderIsReportedAndNothingIsWritten()
    {
        var dataset = ServeMnist();
        string target = ReadOnlyFolder.Create(dir);
        using var downloader = Downloader();

        var act = () => downloader.DownloadAsync(dataset, target);

        (await act.Should().ThrowAsync<DatasetDownloadException>())
            .WithMessage($"Cannot write to {target} (*); choose a folder you can write to.*get the files by hand*");
        Directory.GetFiles(target).Should().NotContain(f => f.EndsWith(".tmp") || f.Contains("idx"));
        server.Requests.Should().BeEmpty("the folder is found unwritable before anything is requested");
    }

    [Fact]
    public async Task ACifarArchiveIsVerifiedUnpackedAndNotFetchedAgain()
    {
        var archive = DataFixtures.CifarArchive(records: 2);
        server.Files["cifar-10-binary.tar.gz"] = archive;
        var dataset = DataFixtures.DescribeCifar(archive, records: 2, server.BaseUrl);
        string target = Path.Combine(dir, "cifar");
        using var downloader = Downloader();

        var report = await downloader.DownloadAsync(dataset, target);

        report.Unpacked.Should().HaveCount(6);
        Directory.GetFiles(Path.Combine(target, "cifar-10-batches-bin")).Select(Path.GetFileName)
            .Should().BeEquivalentTo(Cifar10Reader.TrainingFiles.Append(Cifar10Reader.TestFile), "only the listed entries are unpacked");
        Directory.GetDirectories(target).Should().Equal(Path.Combine(target, "cifar-10-batches-bin"));
        Cifar10Reader.ReadDirectory(target, train: true).Count.Should().Be(10);
        var test = Cifar10Reader.ReadDirectory(target, train: false);
        using (var bytes = test.Bytes(new[] { 1 }))
            bytes[0, 0, 0, 0].item<byte>().Should().Be(DataFixtures.CifarBatch(2, 5)[Cifar10Reader.RecordSize + 1]);

        int requests = server.Requests.Count;
        var again = await downloader.DownloadAsync(dataset, target);
        server.Requests.Count.Should().Be(requests);
        again.AlreadyPresent.Should().Equal("cifar-10-binary.tar.gz");
        again.Unpacked.Should().BeEmpty();

        // The archive may be deleted once unpacked: the unpacked files count as the data set.
        File.Delete(Path.Combine(target, "cifar-10-binary.tar.gz"));
        (await downloader.DownloadAsync(dataset, target)).AlreadyPresent.Should().Equal("cifar-10-binary.tar.gz");
        server.Requests.Count.Should().Be(requests);
    }

    [Fact]
    public void CheckNamesTheFirstDifference()
    {
        var data = "hello"u8.ToArray();
        string path = Path.Combine(dir, "f.bin");
        File.WriteAllBytes(path, data);
        DatasetDownloader.Check(new DatasetFile("f.bin", 5, DataFixtures.Md5(data), DataFixtures.Sha256(data)), path).Should().BeNull();
        DatasetDownloader.Check(new DatasetFile("f.bin", 6, DataFixtures.Md5(data), null), path).Should().Be("5 bytes, expected 6");
        DatasetDownloader.Check(new DatasetFile("f.bin", null, null, new string('0', 64)), path).Should().StartWith("SHA-256 2cf24dba");
        DatasetDownloader.Check(new DatasetFile("g.bin", null, new string('0', 32), null), Path.Combine(dir, "g.bin")).Should().Be("missing");
    }

    [Fact]
    public void FileDescriptionsRejectBadNamesAndChecksums()
    {
        var traversal = () => new DatasetFile("../x", 1, new string('a', 32), null);
        traversal.Should().Throw<ArgumentException>().WithMessage("*plain file name*");
        var none = () => new DatasetFile("x", 1, null, null);
        none.Should().Throw<ArgumentException>().WithMessage("*MD5 or a SHA-256*");
        var shortMd5 = () => new DatasetFile("x", 1, "abc", null);
        shortMd5.Should().Throw<ArgumentException>().WithMessage("*not an MD5*");
        new DatasetFile("x", 1, new string('A', 32), null).Md5.Should().Be(new string('a', 32));
    }
}
