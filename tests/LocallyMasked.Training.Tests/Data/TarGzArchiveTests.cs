using System.Formats.Tar;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

public sealed class TarGzArchiveTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-tar-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(byte[] archive)
    {
        string path = Path.Combine(dir, "a.tar.gz");
        File.WriteAllBytes(path, archive);
        return path;
    }

    private string Destination => Path.Combine(dir, "out");

    [Fact]
    public void UnpacksRegularFilesThroughATemporaryFolder()
    {
        var archive = Write(DataFixtures.TarGz(new[] { ("x/a.bin", new byte[] { 1, 2, 3 }), ("./b.txt", "b"u8.ToArray()) }, new[] { "x/" }));

        var written = TarGzArchive.Extract(archive, Destination);

        written.Select(p => Path.GetRelativePath(Destination, p)).Should().BeEquivalentTo("x/a.bin", "b.txt");
        File.ReadAllBytes(Path.Combine(Destination, "x", "a.bin")).Should().Equal(1, 2, 3);
        Directory.GetDirectories(Destination).Should().Equal(new[] { Path.Combine(Destination, "x") }, "the temporary folder is gone");
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("x/../../evil.txt")]
    [InlineData("/tmp/evil.txt")]
    public void RejectsEntriesOutsideTheDestinationAndWritesNothing(string name)
    {
        var archive = Write(DataFixtures.TarGz(new[] { ("good.bin", new byte[] { 1 }), (name, new byte[] { 2 }) }));

        var act = () => TarGzArchive.Extract(archive, Destination);

        act.Should().Throw<InvalidDataException>().WithMessage($"*'{name}' points outside the destination*");
        Directory.GetFileSystemEntries(Destination).Should().BeEmpty("nothing is moved into place from a rejected archive");
        File.Exists(Path.Combine(dir, "evil.txt")).Should().BeFalse();
    }

    [Fact]
    public void RejectsLinks()
    {
        var archive = Write(DataFixtures.TarGz(new[] { ("good.bin", new byte[] { 1 }) }, more: tar =>
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "link") { LinkName = "/etc/passwd" })));

        var act = () => TarGzArchive.Extract(archive, Destination);

        act.Should().Throw<InvalidDataException>().WithMessage("*'link' is a SymbolicLink*");
        Directory.GetFileSystemEntries(Destination).Should().BeEmpty();
    }

    [Fact]
    public void ATruncatedArchiveIsReportedAsSuch()
    {
        var bytes = DataFixtures.CifarArchive(records: 2);
        var archive = Write(bytes[..(bytes.Length / 2)]);

        var act = () => TarGzArchive.Extract(archive, Destination);

        act.Should().Throw<InvalidDataException>().WithMessage("*a.tar.gz: truncated or corrupt archive*");
        Directory.GetFileSystemEntries(Destination).Should().BeEmpty();
    }

    [Fact]
    public void ExpectedEntriesMustBeThereWithTheirSizes()
    {
        var archive = Write(DataFixtures.TarGz(new[] { ("a.bin", new byte[] { 1, 2 }), ("b.bin", new byte[] { 3 }) }));

        TarGzArchive.Extract(archive, Destination, new[] { new ArchiveEntry("a.bin", 2) }).Should().ContainSingle();
        File.Exists(Path.Combine(Destination, "b.bin")).Should().BeFalse("only the expected entries are unpacked");

        var missing = () => TarGzArchive.Extract(archive, Destination, new[] { new ArchiveEntry("c.bin", 2) });
        missing.Should().Throw<InvalidDataException>().WithMessage("*no entry 'c.bin'*");
        var size = () => TarGzArchive.Extract(archive, Path.Combine(dir, "other"), new[] { new ArchiveEntry("b.bin", 5) });
        size.Should().Throw<InvalidDataException>().WithMessage("*'b.bin' declares 1 bytes, expected 5*");
        Directory.GetFileSystemEntries(Path.Combine(dir, "other")).Should().BeEmpty();
    }
}
