using LocallyMasked.Training.Data;
using SkiaSharp;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Reads a folder of PNG, JPEG and BMP images (recursively, each real file once however links lead to it:
/// <see cref="ImageFileWalk"/>) with SkiaSharp: the training split is every image outside a first-level test/ subfolder
/// and the test split the images in it; without test/, a share of the images chosen with the seed is held out. Every
/// file's header is checked against <see cref="ImageFolderOptions.MaxImagePixels"/> before anything is decoded, and
/// files are decoded in parallel only while the pixels in flight fit a <see cref="DecodeBudget"/>. Each image is
/// cropped centrally to the target aspect ratio, resized (mipmapped linear filtering, so that shrinking averages instead
/// of aliasing) and converted to grey (ITU-R BT.601 luma, as PIL's convert("L")) or RGB; alpha is dropped. Empty,
/// undecodable, vanished and unopenable files are skipped and reported.
/// </summary>
public static class ImageFolderReader
{
    /// <summary>File extensions read (case-insensitive).</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>The name of the optional subfolder with the test images.</summary>
    public const string TestFolder = "test";

    /// <summary>The most bytes one split's images may take decoded (what <see cref="ImageDataset"/> holds).</summary>
    public const long MaxSplitBytes = int.MaxValue;

    private const double DefaultTestFraction = 0.1;

    /// <summary>Whether <paramref name="folder"/> holds at least one file with an image extension (searched recursively, links followed once).</summary>
    /// <param name="folder">The folder.</param>
    public static bool HasImages(string folder) =>
        Directory.Exists(folder) && List(folder, firstOnly: true).Files.Count > 0;

    /// <summary>Reads the training or the test split of <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="options">Size, channels, split settings and the pixel limit.</param>
    /// <param name="budget">Bounds the memory of the images decoded at once; a <see cref="DecodeBudget"/> of the default size when null.</param>
    /// <exception cref="InputError">A file over the pixel limit, or a split too large to hold.</exception>
    public static ImageFolderSplit Read(string folder, bool train, ImageFolderOptions options, DecodeBudget? budget = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"--data {folder}: folder not found.");
        var list = List(folder);
        var all = list.Files.ToArray();
        if (all.Length == 0)
            throw new InvalidDataException(
                $"--data {folder}: no image files (looked for {string.Join(", ", Extensions)} in it and its subfolders{Describe(list.Skipped, "; skipped: ")}).");

        var files = Split(folder, all, train, options);
        var (channels, height, width) = Shape(folder, all, options);
        long imageBytes = (long)channels * height * width;
        if (imageBytes * files.Count > MaxSplitBytes)
            throw new InputError(
                $"--data {folder}: the {files.Count} images of the {(train ? "training" : "test")} split take {imageBytes * files.Count:N0} bytes at {channels}x{height}x{width}, " +
                $"more than a data set holds ({MaxSplitBytes:N0}); use a smaller --size or fewer images.");
        var (decoded, reasons, sizes) = DecodeAll(folder, files, channels, height, width, options, budget ?? new DecodeBudget());
        int odd = Array.FindIndex(sizes, s => s is not null);
        if (odd >= 0)
            throw new ArgumentException(
                $"--data {folder}: {files[odd]} is {sizes[odd]!.Value.Height}x{sizes[odd]!.Value.Width} (HxW) but the first image is {height}x{width}; " +
                "pass --size HxW to crop and resize all images to one size.");
        var skipped = files.Select((f, i) => (File: f, Reason: reasons[i])).Where(s => s.Reason is not null).Select(s => (s.File, s.Reason!)).ToArray();
        var images = decoded.Where(d => d is not null).Select(d => d!).ToArray();
        string split = train ? "training" : "test";
        if (images.Length == 0)
            throw new InvalidDataException(
                $"--data {folder}: no usable image in the {split} split ({files.Count} files, none decodable{Describe(skipped.Concat(list.Skipped).ToArray(), ": ")}).");
        string name = $"{folder}, {split} split: {images.Length} images" + (skipped.Length > 0 ? $", {skipped.Length} skipped" : string.Empty);
        return new ImageFolderSplit(ImageDataset.FromImages(images, channels, height, width, name: name), skipped, list.RepeatedLinks, list.Skipped);
    }

    /// <summary>
    /// Checks every file's header against the pixel limit, then decodes the files in parallel within the budget: the
    /// (C, H, W) bytes of each file, or the reason it was skipped, or its size when it must match and does not.
    /// </summary>
    private static (byte[]?[] Decoded, string?[] Reasons, (int Height, int Width)?[] Sizes) DecodeAll(
        string folder, IReadOnlyList<string> files, int channels, int height, int width, ImageFolderOptions options, DecodeBudget budget)
    {
        var decoded = new byte[]?[files.Count];
        var reasons = new string?[files.Count];
        var sizes = new (int Height, int Width)?[files.Count];
        var headers = new (int Width, int Height)?[files.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, files.Count, parallel, i =>
        {
            try
            {
                headers[i] = ImageFileDecoder.ReadHeader(Path.Combine(folder, files[i]));
            }
            catch (InvalidDataException e)
            {
                reasons[i] = e.Message;
            }
        });
        // Refused before any pixel is decoded: the first file (in path order) over the limit.
        for (int i = 0; i < files.Count; i++)
            if (headers[i] is { } header)
                Refuse(folder, () => ImageFileDecoder.CheckPixels(files[i], header.Width, header.Height, options.MaxImagePixels));
        Parallel.For(0, files.Count, parallel, i =>
        {
            if (headers[i] is not { } header) return;
            if (options.Height is null && (header.Width != width || header.Height != height))
            {
                sizes[i] = (header.Height, header.Width);
                return;
            }
            using var lease = budget.Take(ImageFileDecoder.DecodingBytes(header.Width, header.Height, (long)height * width, channels));
            try
            {
                using var source = ImageFileDecoder.Load(Path.Combine(folder, files[i]), files[i], options.MaxImagePixels);
                decoded[i] = ImageFileDecoder.Fit(source, channels, height, width);
            }
            catch (InvalidDataException e)
            {
                reasons[i] = e.Message;
            }
            catch (ImageTooLargeException e)
            {
                // The file was replaced by a larger one since its header was read.
                reasons[i] = e.Message;
            }
        });
        return (decoded, reasons, sizes);
    }

    /// <summary>Runs a check that may find a file over the pixel limit, naming --data in the error.</summary>
    private static void Refuse(string folder, Action check)
    {
        try
        {
            check();
        }
        catch (ImageTooLargeException e)
        {
            throw new InputError($"--data {folder}: {e.Message}.", e);
        }
    }

    private static ImageFileListing List(string folder, bool firstOnly = false)
    {
        try
        {
            return ImageFileWalk.List(folder, IsImageName, firstOnly);
        }
        catch (InvalidDataException e)
        {
            throw new InputError($"--data {e.Message}", e);
        }
    }

    /// <summary>
    /// One image file as (C, H, W) bytes of the given size and channels (cropped centrally to H:W and resized, converted
    /// to grey or RGB as a folder's images are), with its own size and whether it was grey, so that a caller can say what
    /// changed. Its header is checked against <paramref name="maxPixels"/> before it is decoded, and the decoding holds a
    /// share of <paramref name="budget"/> (when given) while it runs.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">The target height.</param>
    /// <param name="width">The target width.</param>
    /// <param name="maxPixels">The most pixels the file may have.</param>
    /// <param name="budget">Bounds the memory of files decoded at once; null: no bound.</param>
    /// <exception cref="InvalidDataException">Empty, not an image, truncated or undecodable (the reason as the message).</exception>
    /// <exception cref="ImageTooLargeException">More pixels than <paramref name="maxPixels"/>.</exception>
    public static (byte[] Planes, int Height, int Width, bool Grey) ReadFitted(string path, int channels, int height, int width,
        long maxPixels = ImageFolderOptions.DefaultMaxImagePixels, DecodeBudget? budget = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (ownWidth, ownHeight) = ImageFileDecoder.ReadHeader(path);
        ImageFileDecoder.CheckPixels(path, ownWidth, ownHeight, maxPixels);
        using var lease = budget?.Take(ImageFileDecoder.DecodingBytes(ownWidth, ownHeight, (long)height * width, channels));
        using var source = ImageFileDecoder.Load(path, path, maxPixels);
        return (ImageFileDecoder.Fit(source, channels, height, width), source.Height, source.Width, ImageFileDecoder.IsGrey(source));
    }

    /// <summary>"N files skipped: a (reason), b (reason), c (reason) and M more" for the first three skipped files.</summary>
    /// <param name="skipped">The skipped files.</param>
    /// <param name="prefix">Text before the list when it is not empty.</param>
    public static string Describe(IReadOnlyList<(string File, string Reason)> skipped, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(skipped);
        if (skipped.Count == 0) return string.Empty;
        string list = string.Join(", ", skipped.Take(3).Select(s => $"{s.File} ({s.Reason})"));
        return prefix + list + (skipped.Count > 3 ? $" and {skipped.Count - 3} more" : string.Empty);
    }

    private static bool IsImageName(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The relative paths of one split, in path order.</summary>
    private static IReadOnlyList<string> Split(string folder, string[] all, bool train, ImageFolderOptions options)
    {
        bool inTest(string p) => p.StartsWith(TestFolder + "/", StringComparison.Ordinal);
        if (all.Any(inTest))
        {
            if (options.TestFraction is not null)
                throw new ArgumentException(
                    $"--test-fraction: {folder} has a {TestFolder}/ subfolder, which already holds the test images; leave out --test-fraction (or rename {TestFolder}/).");
            var chosen = all.Where(p => inTest(p) != train).ToArray();
            if (chosen.Length == 0)
                throw new InvalidDataException($"--data {folder}: no training images outside {TestFolder}/; put the training images beside it.");
            return chosen;
        }
        if (all.Length < 2)
            throw new InvalidDataException(
                $"--data {folder}: {all.Length} image file, too few to hold some out for testing; add images or a {TestFolder}/ subfolder.");
        double fraction = options.TestFraction ?? DefaultTestFraction;
        int testCount = Math.Clamp((int)Math.Round(fraction * all.Length), 1, all.Length - 1);
        var order = (string[])all.Clone();
        Shuffle(order, options.Seed);
        var test = new HashSet<string>(order.Take(testCount), StringComparer.Ordinal);
        return all.Where(p => test.Contains(p) != train).ToArray();
    }

    /// <summary>A Fisher-Yates shuffle driven by SplitMix64, so that the split depends on the seed and nothing else.</summary>
    private static void Shuffle(string[] items, ulong seed)
    {
        ulong state = seed;
        ulong Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)(Next() % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Channels and size: the options', else those of the first decodable image of the whole folder (checked against the pixel limit first).</summary>
    private static (int Channels, int Height, int Width) Shape(string folder, string[] all, ImageFolderOptions options)
    {
        if (options.Channels is { } c && options.Height is { } h && options.Width is { } w) return (c, h, w);
        foreach (var file in all)
        {
            SKBitmap bitmap;
            try
            {
                var (width, height) = ImageFileDecoder.ReadHeader(Path.Combine(folder, file));
                Refuse(folder, () => ImageFileDecoder.CheckPixels(file, width, height, options.MaxImagePixels));
                bitmap = ImageFileDecoder.Load(Path.Combine(folder, file), file, options.MaxImagePixels);
            }
            catch (InvalidDataException)
            {
                continue;
            }
            using (bitmap)
                return (options.Channels ?? (ImageFileDecoder.IsGrey(bitmap) ? 1 : 3), options.Height ?? bitmap.Height, options.Width ?? bitmap.Width);
        }
        throw new InvalidDataException($"--data {folder}: none of the {all.Length} image files could be decoded.");
    }

    /// <summary>The largest centred rectangle of <paramref name="sourceWidth"/> x <paramref name="sourceHeight"/> with the target's aspect ratio.</summary>
    /// <param name="sourceWidth">The image's width.</param>
    /// <param name="sourceHeight">The image's height.</param>
    /// <param name="width">The target width.</param>
    /// <param name="height">The target height.</param>
    public static SKRectI CentreCrop(int sourceWidth, int sourceHeight, int width, int height)
    {
        // Compare sourceWidth / sourceHeight with width / height without rounding.
        long wide = (long)sourceWidth * height, tall = (long)sourceHeight * width;
        if (wide > tall)
        {
            int cropWidth = (int)Math.Max(1, Math.Round((double)sourceHeight * width / height));
            int left = (sourceWidth - cropWidth) / 2;
            return new SKRectI(left, 0, left + cropWidth, sourceHeight);
        }
        if (tall > wide)
        {
            int cropHeight = (int)Math.Max(1, Math.Round((double)sourceWidth * height / width));
            int top = (sourceHeight - cropHeight) / 2;
            return new SKRectI(0, top, sourceWidth, top + cropHeight);
        }
        return new SKRectI(0, 0, sourceWidth, sourceHeight);
    }
}
