using System.Buffers.Binary;
using System.IO.Compression;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Tests.Training.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-idx-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    internal static byte[] ImagesFile(int count, int height, int width, Func<int, byte> pixel, int magic = IdxReader.ImagesMagic)
    {
        var bytes = new byte[16 + count * height * width];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        for (int i = 16; i < bytes.Length; i++) bytes[i] = pixel(i - 16);
        return bytes;
    }

    internal static byte[] LabelsFile(byte[] labels, int magic = IdxReader.LabelsMagic)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    internal static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return output.ToArray();
    }

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
        Func<byte[], byte[]> wrap = gzip ? Gzip : d => d;
        var images = Write("img", wrap(ImagesFile(3, 4, 5, i => (byte)(i * 7 % 256))));
        var labels = Write("lbl", wrap(LabelsFile(new byte[] { 7, 0, 9 })));

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
        var root = FindRepositoryFile("data/mnist-subset");
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
        var full = ImagesFile(3, 4, 5, i => 1);
        var images = Write("short-images", full[..^7]);
        var labels = Write("lbl", LabelsFile(new byte[3]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*short-images*truncated*");
    }

    [Fact]
    public void TruncatedGzipIsReported()
    {
        var gz = Gzip(ImagesFile(20, 8, 8, i => (byte)i));
        var images = Write("cut.gz", gz[..(gz.Length / 2)]);
        var labels = Write("lbl", LabelsFile(new byte[20]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains("cut.gz"));
    }

    [Fact]
    public void CorruptGzipIsReported()
    {
        var gz = Gzip(ImagesFile(20, 8, 8, i => (byte)i));
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        var images = Write("corrupt.gz", gz);
        var labels = Write("lbl", LabelsFile(new byte[20]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().Where(e => e.Message.Contains("corrupt.gz"));
    }

    [Fact]
    public void SwappedFilesGiveAWrongMagicError()
    {
        var images = Write("images", ImagesFile(2, 2, 2, i => 0));
        var labels = Write("labels", LabelsFile(new byte[2]));
        var act = () => IdxReader.Read(labels, images);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*wrong magic*0x00000801*swapped*");
    }

    [Fact]
    public void CountMismatchBetweenImagesAndLabelsIsReported()
    {
        var images = Write("images", ImagesFile(3, 2, 2, i => 0));
        var labels = Write("labels", LabelsFile(new byte[4]));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*4 labels*3 images*");
    }

    [Fact]
    public void LabelsOutsideTheDigitsAreReported()
    {
        var images = Write("images", ImagesFile(2, 2, 2, i => 0));
        var labels = Write("labels", LabelsFile(new byte[] { 3, 12 }));
        var act = () => IdxReader.Read(images, labels);
        act.Should().Throw<InvalidDataException>().WithMessage("*labels*label 1 is 12*");
    }

    internal static string FindRepositoryFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, relative);
            if (Directory.Exists(candidate) || File.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }
}
