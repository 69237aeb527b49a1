using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using LocallyMasked.TestSupport;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>
/// The training package's hostile-input suite: archives whose headers lie, decompression bombs, data files whose headers
/// claim sizes that cannot be, and sizes whose products overflow; each made by the test (no large file is committed,
/// bombs are compressed as they are made) and refused in one line within <see cref="HostileCases.TimeLimit"/> and bounded
/// memory (<see cref="HostileCases"/>). To add a case, add a row to the table.
/// </summary>
public sealed class HostileDataSuite
{
    private static readonly Lazy<IReadOnlyDictionary<string, HostileCase>> Table = new(() => Rows().ToDictionary(c => c.Name));

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var name in Table.Value.Keys) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_hostile_input_is_refused_in_one_line_quickly_and_within_bounded_memory(string name) => HostileCases.Run(Table.Value[name]);

    private static IEnumerable<HostileCase> Rows()
    {
        var invalid = typeof(InvalidDataException);
        yield return ArchiveCase("archive: an expected 4-byte entry declares 200 MB (its data cut short)",
            "entry 'a.bin' declares 209715200 bytes, expected 4; nothing was unpacked",
            Tar(("a.bin", 200L << 20, new byte[4096])), new[] { new ArchiveEntry("a.bin", 4) });
        yield return ArchiveCase("archive: an entry that is not needed declares 8 GiB (its data cut short)",
            "entry 'big.bin' declares 8589934592 bytes, more than the archive may unpack to",
            Tar(("big.bin", 8L << 30, new byte[4096]), ("a.bin", 4, new byte[4])), new[] { new ArchiveEntry("a.bin", 4) });
        yield return ArchiveCase("archive: an expected entry holds 3 MB of zeros where 4 bytes are expected",
            "entry 'a.bin' declares 3145728 bytes, expected 4; nothing was unpacked",
            Tar(("a.bin", 3L << 20, new byte[3 << 20])), new[] { new ArchiveEntry("a.bin", 4) });

        yield return FileCase("IDX: header dimensions whose product passes 2^31 (2^31-1 images of 2^31-1 x 2^31-1)",
            "the header announces 2147483647 images of 2147483647x2147483647, more than one data set holds",
            path => File.WriteAllBytes(path, IdxHeader(int.MaxValue, int.MaxValue, int.MaxValue)),
            path => IdxReader.ReadImages(File.OpenRead(path), path), invalid);
        yield return FileCase("IDX: a gzip bomb (the header announces 10 images of 28x28; the data inflates to 256 MB)",
            "unexpected bytes after the 10 images the header announces",
            path => GzipBomb(path, IdxHeader(10, 28, 28), 256L << 20),
            path => IdxReader.ReadImages(File.OpenRead(path), path), invalid);
        yield return FileCase("IDX labels: a gzip bomb (the header announces 3 labels; the data inflates to 256 MB)",
            "unexpected bytes after the 3 labels the header announces",
            path => GzipBomb(path, LabelsHeader(3), 256L << 20),
            path => IdxReader.ReadLabels(File.OpenRead(path), path), invalid);
        yield return FileCase("CIFAR-10: a gzip bomb (a batch inflating to 400 MB)",
            $"more than {Cifar10Reader.MaxRecords} records",
            path => GzipBomb(path, Array.Empty<byte>(), 400L << 20),
            path => Cifar10Reader.ReadBatch(File.OpenRead(path), path), invalid);

        yield return new HostileCase("ImageDataset of 3x50000x50000 images", _ => () => new ImageDataset(Array.Empty<byte>(), Array.Empty<byte>(), 3, 50_000, 50_000, "huge"),
            typeof(ArgumentException), "A 3x50000x50000 image has 7500000000 bytes");
        yield return new HostileCase("ImageDataset.Bytes of 1000 images of 3 MB (3 GB)", _ =>
        {
            var dataset = new ImageDataset(new byte[3 << 20], new byte[1], 3, 1024, 1024, "big");
            return () => dataset.Bytes(Enumerable.Repeat(0, 1000).ToArray()).Dispose();
        }, typeof(ArgumentException), "1000 images of 3145728 bytes (3145728000 bytes) are more than one batch holds");
    }

    /// <summary>Extracts <paramref name="archive"/> expecting <paramref name="expected"/>; the destination must stay empty.</summary>
    private static HostileCase ArchiveCase(string name, string fragment, byte[] archive, ArchiveEntry[] expected) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile.tar.gz");
            File.WriteAllBytes(path, archive);
            var destination = Path.Combine(folder, "out");
            return () =>
            {
                try
                {
                    TarGzArchive.Extract(path, destination, expected);
                }
                finally
                {
                    Directory.GetFileSystemEntries(destination, "*", SearchOption.AllDirectories).Should().BeEmpty("nothing is written");
                }
            };
        }, typeof(InvalidDataException), fragment);

    private static HostileCase FileCase(string name, string fragment, Action<string> write, Action<string> read, Type exception) =>
        new(name, folder =>
        {
            var path = Path.Combine(folder, "hostile");
            write(path);
            return () => read(path);
        }, exception, fragment);

    /// <summary>A .tar.gz of ustar entries whose headers declare the given sizes, followed by the given (possibly shorter) data.</summary>
    private static byte[] Tar(params (string Name, long DeclaredSize, byte[] Data)[] entries)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            foreach (var (name, size, data) in entries)
            {
                var header = new byte[512];
                Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
                Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
                Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
                Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
                Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
                Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
                header[156] = (byte)'0';
                Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(header, 257);
                Encoding.ASCII.GetBytes("        ").CopyTo(header, 148);
                int checksum = header.Sum(b => b);
                Encoding.ASCII.GetBytes(Convert.ToString(checksum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
                gzip.Write(header);
                gzip.Write(data);
                gzip.Write(new byte[(512 - data.Length % 512) % 512]);
            }
            if (entries.All(e => e.DeclaredSize == e.Data.Length)) gzip.Write(new byte[1024]);
        }
        return output.ToArray();
    }

    private static byte[] IdxHeader(int count, int height, int width)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), IdxReader.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), width);
        return header;
    }

    private static byte[] LabelsHeader(int count)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), IdxReader.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        return header;
    }

    /// <summary>A gzip file of <paramref name="header"/> and then <paramref name="zeros"/> zero bytes (compressed as it is written: about 1/1000 of the size).</summary>
    private static void GzipBomb(string path, byte[] header, long zeros)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        gzip.Write(header);
        var chunk = new byte[1 << 20];
        for (long written = 0; written < zeros; written += chunk.Length) gzip.Write(chunk);
    }
}
