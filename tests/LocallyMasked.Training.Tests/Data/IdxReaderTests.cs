using LocallyMasked.TestSupport;
using System.IO.Compression;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-idx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string name, byte[] data)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsRawAndGzipFilesPixelForPixel(bool gzip)
    {
        Func<byte[], byte[]> wrap = gzip ? IdxFiles.Gzip : d => d;
        var images = Write("img", wrap(IdxFiles.ImagesFile(3, 4, 5, i => (byte)(i * 7 % 256))));
        var labels = Write("lbl", wrap(IdxFiles.LabelsFile(new byte[] { 7, 0, 9 })));

        var set = IdxReader.Read(images, labels);

        set.Count.Should().Be(3);
        (set.Channels, set.Height, set.Width).Should().Be((1, 4, 5));
        set.Label(0).Should().Be(7);
        set.Label(2).Should().Be(9);
        // Image 1, row 2, column 3 sits at byte 20 + 2*5 + 3 after the header.
        set.Image(1)[2 * 5 + 3].Should().Be((byte)((20 + 13) * 7 % 256));
        using var batch = set.Bytes(new[] { 2, 0 });
        batch.shape.Should().Equal(2, 1, 4, 5);
        batch[0, 0, 0, 0].item<byte>().Should().Be((byte)(40 * 7 % 256));
        batch[1, 0, 3, 4].item<byte>().Should().Be((byte)(19 * 7 % 256));
    }

    [Fact]
    public void ReadsTheEmbeddedSubsetFiles()
    {
        var root = RepositoryFiles.Find("data/mnist-subset");
        var test = IdxReader.Read(Path.Combine(root, "test-images-idx3-ubyte.gz"), Path.Combine(root, "test-labels-idx1-ubyte.gz"));
        test.Count.Should().Be(2000);
        (test.Height, test.Width).Should().Be((28, 28));
        // Real digits: every class occurs, and the borders are blank while the centre is inked.
        Enumerable.Range(0, test.Count).Select(test.Label).Distinct().Should().HaveCount(10);
        test.Image(0)[0].Should().Be(0);
        Enumerable.Range(0, test.Count).Max(i => test.Image(i)[14 * 28 + 14]).Should().Be(255);
    }

    [Fact]
    public void TruncatedImagesNameTheFileAndTheProblem()
    {
        var full = IdxFiles.ImagesFile(3, 4, 5, i => 1);
        var images = Write("short-images", full[..^7]);
        var labels = Write("lbl", IdxFiles.LabelsFile(new byte[3]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*short-images*truncated*");
    }

    [Fact]
    public void TruncatedGzipIsReported()
    {
        var gz = IdxFiles.Gzip(IdxFiles.ImagesFile(20, 8, 8, i => (byte)i));
        var images = Write("cut.gz", gz[..(gz.Length / 2)]);
        var labels = Write("lbl", IdxFiles.LabelsFile(new byte[20]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains("cut.gz"));
    }

    [Fact]
    public void CorruptGzipIsReported()
    {
        var gz = IdxFiles.Gzip(IdxFiles.ImagesFile(20, 8, 8, i => (byte)i));
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var images = Write("corrupt.gz", gz);
        var labels = Write("lbl", IdxFiles.LabelsFile(new byte[20]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains("corrupt.gz"));
    }

    [Fact]
    public void SwappedFilesGiveAWrongMagicError()
    {
        var images = Write("images", IdxFiles.ImagesFile(2, 2, 2, i => 0));
        var labels = Write("labels", IdxFiles.LabelsFile(new byte[2]));
        var act = () => IdxReader.Read(labels, images);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*wrong magic*0x00000801*swapped*");
    }

    [Fact]
    public void CountMismatchBetweenImagesAndLabelsIsReported()
    {
        var images = Write("images", IdxFiles.ImagesFile(3, 2, 2, i => 0));
        var labels = Write("labels", IdxFiles.LabelsFile(new byte[4]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*4 labels*3 images*");
    }

    [Fact]
    public void LabelsOutsideTheDigitsAreReported()
    {
        var images = Write("images", IdxFiles.ImagesFile(2, 2, 2, i => 0));
        var labels = Write("labels", IdxFiles.LabelsFile(new byte[] { 3, 12 }));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*label 1 is 12*");
    }

}
