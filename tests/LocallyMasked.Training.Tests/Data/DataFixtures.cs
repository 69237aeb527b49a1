using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>Small files in the real formats, and data set descriptions whose checksums are theirs.</summary>
internal static class DataFixtures
{
    /// <summary>The four gzip IDX files of an MNIST-like data set under the official names (5 training and 3 test images of 6x4).</summary>
    public static Dictionary<string, byte[]> MnistFiles() => new()
    {
        ["train-images-idx3-ubyte.gz"] = IdxFiles.Gzip(IdxFiles.ImagesFile(5, 6, 4, i => (byte)(i * 3 % 256))),
        ["train-labels-idx1-ubyte.gz"] = IdxFiles.Gzip(IdxFiles.LabelsFile(new byte[] { 1, 2, 3, 4, 5 })),
        ["t10k-images-idx3-ubyte.gz"] = IdxFiles.Gzip(IdxFiles.ImagesFile(3, 6, 4, i => (byte)(255 - i % 256))),
        ["t10k-labels-idx1-ubyte.gz"] = IdxFiles.Gzip(IdxFiles.LabelsFile(new byte[] { 9, 8, 7 })),
    };

    /// <summary>A CIFAR-10 batch of <paramref name="records"/> records.</summary>
    public static byte[] CifarBatch(int records, int seed)
    {
        var data = new byte[records * Cifar10Reader.RecordSize];
        for (int r = 0; r < records; r++)
        {
            data[r * Cifar10Reader.RecordSize] = (byte)((r + seed) % 10);
            for (int i = 1; i < Cifar10Reader.RecordSize; i++) data[r * Cifar10Reader.RecordSize + i] = (byte)((r * 7 + i + seed) % 256);
        }
        return data;
    }

    /// <summary>A .tar.gz in the layout of cifar-10-binary.tar.gz, with <paramref name="records"/> records per batch.</summary>
    public static byte[] CifarArchive(int records)
    {
        var entries = new List<(string, byte[])> { ("cifar-10-batches-bin/batches.meta.txt", "airplane\nautomobile\n"u8.ToArray()) };
        int seed = 0;
        foreach (var name in Cifar10Reader.TrainingFiles.Append(Cifar10Reader.TestFile))
            entries.Add(("cifar-10-batches-bin/" + name, CifarBatch(records, seed++)));
        entries.Add(("cifar-10-batches-bin/readme.html", "<html></html>"u8.ToArray()));
        return TarGz(entries, directories: new[] { "cifar-10-batches-bin/" });
    }

    /// <summary>A .tar.gz of the given regular files (and folders).</summary>
    public static byte[] TarGz(IEnumerable<(string Name, byte[] Data)> files, IEnumerable<string>? directories = null,
        Action<TarWriter>? more = null)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var d in directories ?? Array.Empty<string>()) tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, d));
            foreach (var (name, data) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            more?.Invoke(tar);
        }
        return output.ToArray();
    }

    public static string Md5(byte[] data) => Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant();

    public static string Sha256(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

    /// <summary>An MNIST-like description of <paramref name="files"/> (MD5, SHA-256 and sizes their own) served from <paramref name="mirrors"/>.</summary>
    public static DatasetDescription Describe(string name, IReadOnlyDictionary<string, byte[]> files, params Uri[] mirrors) => new(
        name,
        mirrors,
        files.Select(f => new DatasetFile(f.Key, f.Value.Length, Md5(f.Value), Sha256(f.Value))).ToArray(),
        new Uri("https://example.org/get-the-data"),
        "the four IDX files",
        "made in the test");

    /// <summary>A description of a CIFAR-10-like archive with <paramref name="records"/> records per batch.</summary>
    public static DatasetDescription DescribeCifar(byte[] archive, int records, params Uri[] mirrors) => new(
        "cifar10-fixture",
        mirrors,
        new[]
        {
            new DatasetFile("cifar-10-binary.tar.gz", archive.Length, Md5(archive), null)
            {
                Extract = Cifar10Reader.TrainingFiles.Append(Cifar10Reader.TestFile)
                    .Select(n => new ArchiveEntry("cifar-10-batches-bin/" + n, (long)records * Cifar10Reader.RecordSize)).ToArray(),
            },
        },
        new Uri("https://example.org/cifar"),
        "cifar-10-batches-bin/ with the six batches",
        "made in the test");
}
