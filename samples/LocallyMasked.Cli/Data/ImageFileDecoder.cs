using SkiaSharp;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Decodes one image file with SkiaSharp, checking first, from the header alone, that it has at most a given number of
/// pixels: a 70-byte PNG that claims 30000 x 30000 pixels is refused before 3.6 GB are allocated for it. Files that
/// cannot be used (empty, not an image, truncated, vanished, unreadable) raise <see cref="InvalidDataException"/> with
/// the reason, for the caller to skip; a file over the limit raises <see cref="ImageTooLargeException"/>.
/// </summary>
public static class ImageFileDecoder
{
    /// <summary>The width and height a file's header claims, without decoding its pixels.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InvalidDataException">Not an image SkiaSharp reads, empty, or gone.</exception>
    public static (int Width, int Height) ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            if (new FileInfo(path).Length == 0) throw new InvalidDataException("empty file");
            using var codec = SKCodec.Create(path) ?? throw new InvalidDataException("not a PNG, JPEG or BMP image");
            return (codec.Info.Width, codec.Info.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"cannot be read ({e.Message})", e);
        }
    }

    /// <summary>
    /// The bytes decoding <paramref name="width"/> x <paramref name="height"/> pixels and fitting them to a target size
    /// holds at once: the RGBA pixels, the mipmaps and the target's pixels when the size changes, and the planes.
    /// </summary>
    /// <param name="width">The file's width.</param>
    /// <param name="height">The file's height.</param>
    /// <param name="target">The target's pixels (height x width).</param>
    /// <param name="channels">The target's channels.</param>
    public static long DecodingBytes(int width, int height, long target, int channels)
    {
        long pixels = (long)width * height;
        bool resized = pixels != target;
        return 4 * pixels + (resized ? 4 * pixels / 3 + 4 * target : 0) + channels * target;
    }

    /// <summary>Checks a header's size against <paramref name="maxPixels"/>.</summary>
    /// <param name="file">The file, as it is named in messages.</param>
    /// <param name="width">Its width.</param>
    /// <param name="height">Its height.</param>
    /// <param name="maxPixels">The most pixels allowed.</param>
    /// <exception cref="ImageTooLargeException">More pixels than allowed.</exception>
    public static void CheckPixels(string file, int width, int height, long maxPixels)
    {
        long pixels = (long)width * height;
        if (pixels > maxPixels) throw new ImageTooLargeException(file, width, height, maxPixels);
    }

    /// <summary>Decodes a file as unpremultiplied RGBA after checking its header against <paramref name="maxPixels"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="file">The file as messages name it.</param>
    /// <param name="maxPixels">The most pixels allowed.</param>
    /// <exception cref="InvalidDataException">The file cannot be used (the message is the reason).</exception>
    /// <exception cref="ImageTooLargeException">More pixels than allowed.</exception>
    public static SKBitmap Load(string path, string file, long maxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            if (new FileInfo(path).Length == 0) throw new InvalidDataException("empty file");
            using var codec = SKCodec.Create(path) ?? throw new InvalidDataException("not a PNG, JPEG or BMP image");
            CheckPixels(file, codec.Info.Width, codec.Info.Height, maxPixels);
            var target = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            SKBitmap bitmap;
            try
            {
                bitmap = new SKBitmap(target);
            }
            catch (Exception e) when (e.GetType() == typeof(Exception))
            {
                // SkiaSharp throws a bare Exception when it cannot allocate the pixels.
                throw new InvalidDataException($"no memory for its {codec.Info.Width}x{codec.Info.Height} pixels", e);
            }
            var result = codec.GetPixels(target, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
            {
                bitmap.Dispose();
                throw new InvalidDataException(result == SKCodecResult.IncompleteInput ? "truncated image" : $"cannot decode ({result})");
            }
            return bitmap;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file vanished or cannot be read since the folder was listed.
            throw new InvalidDataException($"cannot be read ({e.Message})", e);
        }
    }

    /// <summary>One decoded image as (C, H, W) bytes: cropped centrally to H:W, resized (mipmapped linear filtering), converted to the channel count.</summary>
    /// <param name="source">The decoded RGBA pixels.</param>
    /// <param name="channels">1 (grey, BT.601 luma) or 3 (RGB).</param>
    /// <param name="height">The target height.</param>
    /// <param name="width">The target width.</param>
    public static byte[] Fit(SKBitmap source, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Width == width && source.Height == height) return Planes(source.GetPixelSpan(), channels, height * width);
        var crop = ImageFolderReader.CentreCrop(source.Width, source.Height, width, height);
        using var cropped = new SKBitmap();
        if (!source.ExtractSubset(cropped, crop)) throw new InvalidDataException("cannot crop");
        using var resized = cropped.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)) ?? throw new InvalidDataException("cannot resize");
        return Planes(resized.GetPixelSpan(), channels, height * width);
    }

    /// <summary>Whether every pixel of an RGBA bitmap is grey (R = G = B).</summary>
    /// <param name="bitmap">The bitmap.</param>
    public static bool IsGrey(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
            if (pixels[i] != pixels[i + 1] || pixels[i] != pixels[i + 2]) return false;
        return true;
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
