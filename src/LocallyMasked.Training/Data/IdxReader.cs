namespace LocallyMasked.Training.Data;

/// <summary>
/// Reads MNIST's IDX files (the official ones, Fashion-MNIST's, which use the same format and names, and any subset in
/// the same format), gzip-compressed or raw: images have magic 0x00000803 (unsigned bytes, 3 dimensions), labels 0x00000801.
/// Every malformed input raises <see cref="InvalidDataException"/> naming the file and the problem.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned-byte images (3 dimensions).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned-byte labels (1 dimension).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file and its label file into one data set.</summary>
    /// <param name="imagesPath">Path of the images file (for example train-images-idx3-ubyte[.gz]).</param>
    /// <param name="labelsPath">Path of the labels file (for example train-labels-idx1-ubyte[.gz]).</param>
    public static ImageDataset Read(string imagesPath, string labelsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        using var images = OpenFile(imagesPath);
        using var labels = OpenFile(labelsPath);
        return Read(images, imagesPath, labels, labelsPath);
    }

    /// <summary>
    /// Reads the training or test split from a folder holding MNIST's files under their official names
    /// (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; the
    /// variants with ".idx3-ubyte", a ".gz" suffix, or "test-" instead of "t10k-" are found too).
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="train">True for the training split, false for the test split.</param>
    public static ImageDataset ReadDirectory(string directory, bool train)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: folder not found.");
        string images = Find(directory, train ? new[] { "train" } : new[] { "t10k", "test" }, "images", "idx3");
        string labels = Find(directory, train ? new[] { "train" } : new[] { "t10k", "test" }, "labels", "idx1");
        return Read(images, labels);
    }

    private static string Find(string directory, string[] prefixes, string kind, string idx)
    {
        var tried = new List<string>();
        foreach (var prefix in prefixes)
            foreach (var separator in new[] { "-", "." })
                foreach (var suffix in new[] { "", ".gz" })
                {
                    string name = $"{prefix}-{kind}{separator}{idx}-ubyte{suffix}";
                    tried.Add(name);
                    string path = Path.Combine(directory, name);
                    if (File.Exists(path)) return path;
                }
        throw new FileNotFoundException($"{directory}: no MNIST {kind} file; looked for {string.Join(", ", tried)}.");
    }

    /// <summary>Reads images and labels from streams (gzip or raw, detected from the first bytes).</summary>
    /// <param name="images">The images stream.</param>
    /// <param name="imagesName">The images' file name, used in error messages.</param>
    /// <param name="labels">The labels stream.</param>
    /// <param name="labelsName">The labels' file name, used in error messages.</param>
    public static ImageDataset Read(Stream images, string imagesName, Stream labels, string labelsName)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        var (pixels, count, height, width) = ReadImages(images, imagesName);
        var labelBytes = ReadLabels(labels, labelsName);
        if (labelBytes.Length != count)
            throw new InvalidDataException(
                $"{labelsName}: holds {labelBytes.Length} labels but {imagesName} holds {count} images; the counts must match.");
        return new ImageDataset(pixels, labelBytes, 1, height, width, imagesName);
    }

    /// <summary>
    /// Reads an IDX images stream: the pixel bytes and the header's count, height and width. The header's sizes are
    /// checked (with 64-bit arithmetic, against the most a data set holds) before the pixels are read, and no more bytes
    /// than the header announces are read or inflated.
    /// </summary>
    /// <param name="stream">The stream (gzip or raw).</param>
    /// <param name="name">The file name, used in error messages.</param>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var data = DataStreams.Inflated(stream, name);
        using var inflater = ReferenceEquals(data, stream) ? null : data;
        var header = DataStreams.ReadUpTo(data, 16, name);
        CheckHeader(header, name, ImagesMagic, "images", 16);
        int count = BigEndian(header, 4), height = BigEndian(header, 8), width = BigEndian(header, 12);
        if (count < 0 || height <= 0 || width <= 0)
            throw new InvalidDataException($"{name}: invalid header dimensions {count} x {height} x {width}.");
        // Each factor is below 2^31, so the product of two fits in a long; the third is checked against the limit first.
        long imageBytes = (long)height * width;
        if (imageBytes > Array.MaxLength || (count > 0 && imageBytes > Array.MaxLength / count))
            throw new InvalidDataException(
                $"{name}: the header announces {count} images of {height}x{width}, more than one data set holds ({Array.MaxLength} bytes).");
        long expected = count * imageBytes;
        var pixels = DataStreams.ReadUpTo(data, expected, name);
        if (pixels.LongLength < expected)
            throw new InvalidDataException(
                $"{name}: truncated: the header announces {count} images of {height}x{width} ({16 + expected} bytes) but the file has {16 + pixels.LongLength} bytes.");
        if (!DataStreams.AtEnd(data, name))
            throw new InvalidDataException($"{name}: unexpected bytes after the {count} images the header announces.");
        return (pixels, count, height, width);
    }

    /// <summary>Reads an IDX labels stream (no more bytes than the header announces are read or inflated).</summary>
    /// <param name="stream">The stream (gzip or raw).</param>
    /// <param name="name">The file name, used in error messages.</param>
    public static byte[] ReadLabels(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var data = DataStreams.Inflated(stream, name);
        using var inflater = ReferenceEquals(data, stream) ? null : data;
        var header = DataStreams.ReadUpTo(data, 8, name);
        CheckHeader(header, name, LabelsMagic, "labels", 8);
        int count = BigEndian(header, 4);
        if (count < 0 || count > Array.MaxLength) throw new InvalidDataException($"{name}: invalid label count {count}.");
        var labels = DataStreams.ReadUpTo(data, count, name);
        if (labels.Length < count)
            throw new InvalidDataException(
                $"{name}: truncated: the header announces {count} labels but the file has {labels.Length} label bytes.");
        if (!DataStreams.AtEnd(data, name))
            throw new InvalidDataException($"{name}: unexpected bytes after the {count} labels the header announces.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] > 9)
                throw new InvalidDataException($"{name}: label {i} is {labels[i]}; MNIST and Fashion-MNIST labels are 0-9.");
        return labels;
    }

    private static void CheckHeader(byte[] data, string name, int magic, string kind, int headerSize)
    {
        if (data.Length < 4)
            throw new InvalidDataException($"{name}: truncated: {data.Length} bytes, shorter than the {headerSize}-byte IDX {kind} header.");
        int found = BigEndian(data, 0);
        if (found != magic)
        {
            string hint = found == (magic == ImagesMagic ? LabelsMagic : ImagesMagic)
                ? $" (that is the magic of an IDX {(magic == ImagesMagic ? "labels" : "images")} file: were the files swapped?)"
                : string.Empty;
            throw new InvalidDataException(
                $"{name}: wrong magic number 0x{found:X8}; an IDX {kind} file starts with 0x{magic:X8}{hint}.");
        }
        if (data.Length < headerSize)
            throw new InvalidDataException($"{name}: truncated: {data.Length} bytes, shorter than the {headerSize}-byte IDX {kind} header.");
    }

    private static FileStream OpenFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found.", path);
        return File.OpenRead(path);
    }

    private static int BigEndian(byte[] data, int offset) =>
        System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset, 4));
}
