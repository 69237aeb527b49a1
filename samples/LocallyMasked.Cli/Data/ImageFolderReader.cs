using LocallyMasked.Training.Data;
using SkiaSharp;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Reads a folder of PNG, JPEG and BMP images (recursively) with SkiaSharp: the training split is every image outside a
/// first-level test/ subfolder and the test split the images in it; without test/, a share of the images chosen with
/// the seed is held out. Each image is cropped centrally to the target aspect ratio, resized (mipmapped linear
/// filtering, so that shrinking averages instead of aliasing) and converted to grey (ITU-R BT.601 luma, as PIL's
/// convert("L")) or RGB; alpha is dropped. Empty and undecodable files are skipped and reported.
/// </summary>
public static class ImageFolderReader
{
    /// <summary>File extensions read (case-insensitive).</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>The name of the optional subfolder with the test images.</summary>
    public const string TestFolder = "test";

    private const double DefaultTestFraction = 0.1;

    /// <summary>Whether <paramref name="folder"/> holds at least one file with an image extension (searched recursively).</summary>
    /// <param name="folder">The folder.</param>
    public static bool HasImages(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*", Enumeration()).Any(IsImageName);

    /// <summary>Reads the training or the test split of <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="options">Size, channels and split settings.</param>
    public static ImageFolderSplit Read(string folder, bool train, ImageFolderOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"--data {folder}: folder not found.");
        var all = Directory.EnumerateFiles(folder, "*", Enumeration()).Where(IsImageName)
            .Select(path => Path.GetRelativePath(folder, path).Replace('\\', '/'))
            .OrderBy(p => p, StringComparer.Ordinal)
            .ToArray();
        if (all.Length == 0)
            throw new InvalidDataException($"--data {folder}: no image files (looked for {string.Join(", ", Extensions)} in it and its subfolders).");

        var files = Split(folder, all, train, options);
        var (channels, height, width) = Shape(folder, all, options);
        var decoded = new byte[files.Count][];
        var reasons = new string?[files.Count];
        var sizes = new (int Height, int Width)?[files.Count];
        Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            try
            {
                decoded[i] = Decode(Path.Combine(folder, files[i]), channels, height, width, options.Height is null, out sizes[i]);
            }
            catch (InvalidDataException e)
            {
                reasons[i] = e.Message;
            }
        });
        int odd = Array.FindIndex(sizes, s => s is not null);
        if (odd >= 0)
            throw new ArgumentException(
                $"--data {folder}: {files[odd]} is {sizes[odd]!.Value.Height}x{sizes[odd]!.Value.Width} (HxW) but the first image is {height}x{width}; " +
                "pass --size HxW to crop and resize all images to one size.");
        var skipped = files.Select((f, i) => (File: f, Reason: reasons[i])).Where(s => s.Reason is not null)
            .Select(s => (s.File, s.Reason!)).ToArray();
        var images = decoded.Where(d => d is not null).ToArray();
        string split = train ? "training" : "test";
        if (images.Length == 0)
            throw new InvalidDataException(
                $"--data {folder}: no usable image in the {split} split ({files.Count} files, none decodable{Describe(skipped, ": ")}).");
        string name = $"{folder}, {split} split: {images.Length} images" + (skipped.Length > 0 ? $", {skipped.Length} skipped" : string.Empty);
        return new ImageFolderSplit(ImageDataset.FromImages(images, channels, height, width, name: name), skipped);
    }

    /// <summary>
    /// One image file as (C, H, W) bytes of the given size and channels (cropped centrally to H:W and resized, converted
    /// to grey or RGB as a folder's images are), with its own size and whether it was grey, so that a caller can say what
    /// changed.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="height">The target height.</param>
    /// <param name="width">The target width.</param>
    /// <exception cref="InvalidDataException">Empty, not an image, truncated or undecodable (the reason as the message).</exception>
    public static (byte[] Planes, int Height, int Width, bool Grey) ReadFitted(string path, int channels, int height, int width)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        int ownHeight, ownWidth;
        bool grey;
        using (var source = Load(path)) (ownHeight, ownWidth, grey) = (source.Height, source.Width, IsGrey(source));
        return (Decode(path, channels, height, width, sameSizeRequired: false, out _), ownHeight, ownWidth, grey);
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

    private static EnumerationOptions Enumeration() => new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
    };

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

    /// <summary>Channels and size: the options', else those of the first decodable image of the whole folder.</summary>
    private static (int Channels, int Height, int Width) Shape(string folder, string[] all, ImageFolderOptions options)
    {
        if (options.Channels is { } c && options.Height is { } h && options.Width is { } w) return (c, h, w);
        foreach (var file in all)
        {
            SKBitmap bitmap;
            try
            {
                bitmap = Load(Path.Combine(folder, file));
            }
            catch (InvalidDataException)
            {
                continue;
            }
            using (bitmap)
                return (options.Channels ?? (IsGrey(bitmap) ? 1 : 3), options.Height ?? bitmap.Height, options.Width ?? bitmap.Width);
        }
        throw new InvalidDataException($"--data {folder}: none of the {all.Length} image files could be decoded.");
    }

    private static bool IsGrey(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
            if (pixels[i] != pixels[i + 1] || pixels[i] != pixels[i + 2]) return false;
        return true;
    }

    /// <summary>Decodes a file as unpremultiplied RGBA, or throws <see cref="InvalidDataException"/> with the reason.</summary>
    internal static SKBitmap Load(string path)
    {
        var info = new FileInfo(path);
        if (info.Length == 0) throw new InvalidDataException("empty file");
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException("not a PNG, JPEG or BMP image");
        var target = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(target);
        var result = codec.GetPixels(target, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            throw new InvalidDataException(result == SKCodecResult.IncompleteInput ? "truncated image" : $"cannot decode ({result})");
        }
        return bitmap;
    }

    /// <summary>One image as (C, H, W) bytes: cropped centrally to H:W, resized, converted to the channel count.</summary>
    /// <remarks>When <paramref name="sameSizeRequired"/> and the image has another size, returns null and sets <paramref name="otherSize"/>.</remarks>
    private static byte[] Decode(string path, int channels, int height, int width, bool sameSizeRequired, out (int Height, int Width)? otherSize)
    {
        using var source = Load(path);
        otherSize = null;
        if (sameSizeRequired && (source.Width != width || source.Height != height))
        {
            otherSize = (source.Height, source.Width);
            return null!;
        }
        SKBitmap fitted = source;
        SKBitmap? owned = null;
        try
        {
            if (source.Width != width || source.Height != height)
            {
                var crop = CentreCrop(source.Width, source.Height, width, height);
                using var cropped = new SKBitmap();
                if (!source.ExtractSubset(cropped, crop)) throw new InvalidDataException("cannot crop");
                owned = cropped.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
                    new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)) ?? throw new InvalidDataException("cannot resize");
                fitted = owned;
            }
            return Planes(fitted.GetPixelSpan(), channels, height * width);
        }
        finally
        {
            owned?.Dispose();
        }
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

    /// <summary>RGBA pixels to (C, H, W) planes: grey by BT.601 luma, or R, G, B.</summary>
    private static byte[] Planes(ReadOnlySpan<byte> rgba, int channels, int pixels)
    {
        var output = new byte[channels * pixels];
        for (int p = 0; p < pixels; p++)
        {
            byte r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
            if (channels == 1)
                output[p] = (byte)((299 * r + 587 * g + 114 * b + 500) / 1000);
            else
            {
                output[p] = r;
                output[pixels + p] = g;
                output[2 * pixels + p] = b;
            }
        }
        return output;
    }
}
