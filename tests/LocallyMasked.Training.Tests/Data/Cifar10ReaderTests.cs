using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

public sealed class Cifar10ReaderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cifar-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static byte[] Batch(int records, int labelOffset = 0)
    {
        var data = new byte[records * Cifar10Reader.RecordSize];
        for (int r = 0; r < records; r++)
        {
            data[r * Cifar10Reader.RecordSize] = (byte)((r + labelOffset) % 10);
            for (int i = 1; i < Cifar10Reader.RecordSize; i++)
                data[r * Cifar10Reader.RecordSize + i] = (byte)((r * 31 + i) % 251);
        }
        return data;
    }

    [Fact]
    public void ReadsRecordsAsChannelMajorImages()
    {
        foreach (var name in Cifar10Reader.TrainingFiles) File.WriteAllBytes(Path.Combine(dir, name), Batch(2));
        File.WriteAllBytes(Path.Combine(dir, Cifar10Reader.TestFile), Batch(3, labelOffset: 4));

        var train = Cifar10Reader.ReadDirectory(dir, train: true);
        var test = Cifar10Reader.ReadDirectory(dir, train: false);

        train.Count.Should().Be(10);
        (train.Channels, train.Height, train.Width).Should().Be((3, 32, 32));
        test.Count.Should().Be(3);
        test.Label(2).Should().Be(6);
        // Record 1, green channel (1024 bytes after red), row 5, column 7: byte 1 + 1024 + 5*32 + 7 of the record.
        using var bytes = test.Bytes(new[] { 1 });
        bytes[0, 1, 5, 7].item<byte>().Should().Be((byte)((31 + 1 + 1024 + 5 * 32 + 7) % 251));
    }

    [Fact]
    public void TruncatedBatchNamesTheFile()
    {
        var path = Path.Combine(dir, "data_batch_1.bin");
        File.WriteAllBytes(path, Batch(2)[..^100]);
        var act = () => Cifar10Reader.Read(new[] { path });
        act.Should().Throw<InvalidDataException>().WithMessage("*data_batch_1.bin*truncated*");
    }

    [Fact]
    public void LabelsAboveNineAreReported()
    {
        var data = Batch(2);
        data[Cifar10Reader.RecordSize] = 57;
        var path = Path.Combine(dir, "test_batch.bin");
        File.WriteAllBytes(path, data);
        var act = () => Cifar10Reader.Read(new[] { path });
        act.Should().Throw<InvalidDataException>().WithMessage("*test_batch.bin*record 1*label 57*");
    }

    [Fact]
    public void MissingBatchIsAFileNotFoundError()
    {
        var act = () => Cifar10Reader.ReadDirectory(dir, train: false);
        act.Should().Throw<FileNotFoundException>().WithMessage("*test_batch.bin*");
    }
}
