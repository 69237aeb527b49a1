namespace LocallyMasked.Training.Data;

/// <summary>
/// Reads CIFAR-10's binary batches (data_batch_1.bin .. data_batch_5.bin, test_batch.bin): records of
/// one label byte (0-9) followed by 3072 pixel bytes, 1024 per channel in R, G, B order, each channel row-major
/// (so (C, H, W) = (3, 32, 32)). Gzip-compressed batches are accepted too.
/// </summary>
public static class Cifar10Reader
{
    /// <summary>Image side length.</summary>
    public const int Size = 32;

    /// <summary>Bytes per record: the label and 3 x 32 x 32 pixels.</summary>
    public const int RecordSize = 1 + 3 * Size * Size;

    /// <summary>The names of the five training batches.</summary>
    public static IReadOnlyList<string> TrainingFiles { get; } =
        new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin" };

    /// <summary>The name of the test batch.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>
    /// Reads the training batches (<paramref name="train"/> true) or the test batch from a folder; the folder may also be
    /// the parent of the official archive's "cifar-10-batches-bin" folder.
    /// </summary>
    /// <param name="directory">Folder holding the .bin batches.</param>
    /// <param name="train">True for the five training batches, false for the test batch.</param>
    public static ImageDataset ReadDirectory(string directory, bool train)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string folder = directory;
        if (!File.Exists(Path.Combine(folder, TestFile)) && Directory.Exists(Path.Combine(folder, "cifar-10-batches-bin")))
            folder = Path.Combine(folder, "cifar-10-batches-bin");
        var names = train ? TrainingFiles : new[] { TestFile };
        return Read(names.Select(n => Path.Combine(folder, n)).ToArray());
    }

    /// <summary>Reads and concatenates the given batch files.</summary>
    /// <param name="paths">Paths of batch files.</param>
    public static ImageDataset Read(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("Expected at least one batch file.", nameof(paths));
        var parts = new List<(byte[] Pixels, byte[] Labels)>();
        foreach (var path in paths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
            using var stream = File.OpenRead(path);
            parts.Add(ReadBatch(stream, path));
        }
        long total = parts.Sum(p => (long)p.Pixels.Length);
        if (total > Array.MaxLength)
            throw new InvalidDataException($"{string.Join(", ", paths.Select(Path.GetFileName))}: {total} bytes of images, more than one data set holds ({Array.MaxLength}).");
        var pixels = parts.SelectMany(p => p.Pixels).ToArray();
        var labels = parts.SelectMany(p => p.Labels).ToArray();
        return new ImageDataset(pixels, labels, 3, Size, Size, string.Join(", ", paths.Select(Path.GetFileName)));
    }

    /// <summary>The most records a batch may hold: 10,000, as every official batch does (a subset holds fewer), so that a damaged or hostile file costs bounded memory.</summary>
    public const int MaxRecords = 10_000;

    /// <summary>Reads one batch: its pixels laid out (N, 3, 32, 32) and its labels; at most <see cref="MaxRecords"/> records are read or inflated.</summary>
    /// <param name="stream">The batch's bytes (raw or gzip).</param>
    /// <param name="name">The file name, used in error messages.</param>
    public static (byte[] Pixels, byte[] Labels) ReadBatch(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var inflated = DataStreams.Inflated(stream, name);
        using var inflater = ReferenceEquals(inflated, stream) ? null : inflated;
        var data = DataStreams.ReadUpTo(inflated, (long)MaxRecords * RecordSize, name);
        if (data.Length == MaxRecords * RecordSize && !DataStreams.AtEnd(inflated, name))
            throw new InvalidDataException($"{name}: more than {MaxRecords} records of {RecordSize} bytes; a CIFAR-10 batch holds {MaxRecords}.");
        if (data.Length == 0) throw new InvalidDataException($"{name}: empty file; a CIFAR-10 batch holds records of {RecordSize} bytes.");
        if (data.Length % RecordSize != 0)
            throw new InvalidDataException(
                $"{name}: truncated or not a CIFAR-10 batch: {data.Length} bytes is not a whole number of {RecordSize}-byte records " +
                $"({data.Length / RecordSize} records and {data.Length % RecordSize} bytes left over).");
        int count = data.Length / RecordSize;
        var labels = new byte[count];
        var pixels = new byte[count * (RecordSize - 1)];
        for (int i = 0; i < count; i++)
        {
            byte label = data[i * RecordSize];
            if (label > 9)
                throw new InvalidDataException($"{name}: record {i} has label {label}; CIFAR-10 labels are 0-9 (is this a CIFAR-100 file?).");
            labels[i] = label;
            Buffer.BlockCopy(data, i * RecordSize + 1, pixels, i * (RecordSize - 1), RecordSize - 1);
        }
        return (pixels, labels);
    }
}
