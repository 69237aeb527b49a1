using LocallyMasked.Orders;
using SkiaSharp;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Reads a --mask: an image whose white pixels are the ones to complete and whose black pixels are observed, in any
/// shape. A pixel's level is its BT.601 luma (alpha is ignored): levels up to <see cref="BlackAtMost"/> are black,
/// from <see cref="WhiteAtLeast"/> white, and a mask with any level between is refused (a soft brush edge or a JPEG's
/// ringing would otherwise decide silently which pixels are missing). A mask of another size than the model's is
/// cropped as the picture is and scaled to the model's grid, where a pixel is missing when any mask pixel it covers is.
/// </summary>
public static class MaskReader
{
    /// <summary>The highest level of a black (observed) pixel.</summary>
    public const int BlackAtMost = 31;

    /// <summary>The lowest level of a white (missing) pixel.</summary>
    public const int WhiteAtLeast = 224;

    /// <summary>The rule, as the messages state it.</summary>
    public static string Rule => $"white (levels {WhiteAtLeast}-255) is missing, black (0-{BlackAtMost}) observed";

    /// <summary>A mask read from a file, at its own size and at the model's.</summary>
    /// <param name="Height">The file's height.</param>
    /// <param name="Width">The file's width.</param>
    /// <param name="Missing">The missing pixels on the model's grid.</param>
    /// <param name="Fitting">"used as it is", or how it was cropped and scaled.</param>
    public sealed record Mask(int Height, int Width, ImageRegion Missing, string Fitting);

    /// <summary>Reads <paramref name="path"/> and fits it to a <paramref name="height"/> x <paramref name="width"/> model.</summary>
    /// <param name="path">The --mask path.</param>
    /// <param name="height">The model's image height.</param>
    /// <param name="width">The model's image width.</param>
    /// <param name="sameSizeAs">The picture the mask is for ("--image a.png", "the test images") and its size, checked first; null: any size.</param>
    /// <param name="maxPixels">The most pixels the file's header may claim (--max-image-pixels), checked before it is decoded.</param>
    /// <exception cref="InputError">A missing or undecodable file, another size than <paramref name="sameSizeAs"/>, a level neither black
    /// nor white, no missing pixel, or only missing ones.</exception>
    public static Mask Read(string path, int height, int width, (string Of, int Height, int Width)? sameSizeAs = null,
        long maxPixels = ImageFolderOptions.DefaultMaxImagePixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        bool[] source;
        int sourceHeight, sourceWidth;
        using (var bitmap = PictureReader.Load(path, "--mask", maxPixels))
        {
            (sourceHeight, sourceWidth) = (bitmap.Height, bitmap.Width);
            if (sameSizeAs is { } other && (other.Height != sourceHeight || other.Width != sourceWidth))
                throw new InputError($"--mask {path}: is {sourceHeight}x{sourceWidth} (HxW), but {other.Of} is {other.Height}x{other.Width}; "
                    + $"the mask must have its size ({Rule}).");
            source = Levels(bitmap, path);
        }
        string fitting = "used as it is";
        var missing = source;
        if (sourceHeight != height || sourceWidth != width)
        {
            var crop = ImageFolderReader.CentreCrop(sourceWidth, sourceHeight, width, height);
            missing = Scale(source, sourceWidth, crop, height, width);
            fitting = (crop.Width != sourceWidth || crop.Height != sourceHeight ? $"centre-cropped to {crop.Height}x{crop.Width}, " : "")
                + $"scaled to {height}x{width} (a pixel is missing where any mask pixel it covers is white)";
        }
        int count = missing.Count(m => m);
        if (count == 0)
            throw new InputError(source.Any(m => m)
                ? $"--mask {path}: its white pixels lie outside the centre crop to the model's {height}x{width} shape, so nothing would be completed; "
                    + "crop the picture and the mask to that shape first."
                : $"--mask {path}: no pixel is white ({Rule}), so nothing is missing and the completion would be the picture itself; paint the pixels to complete white.");
        if (count == missing.Length)
            throw new InputError($"--mask {path}: every pixel is white ({Rule}), so nothing is observed and the completion would be a new sample; "
                + "use lmconv sample, or leave some pixels black.");
        return new Mask(sourceHeight, sourceWidth, ImageRegion.FromPixels(height, width, Enumerable.Range(0, missing.Length).Where(p => missing[p])), fitting);
    }

    /// <summary>The missing pixels of the mask at its own size, or an <see cref="InputError"/> for a level that is neither black nor white.</summary>
    private static bool[] Levels(SKBitmap bitmap, string path)
    {
        var rgba = bitmap.GetPixelSpan();
        int pixels = bitmap.Width * bitmap.Height, grey = 0, first = -1, firstLevel = 0;
        var missing = new bool[pixels];
        for (int p = 0; p < pixels; p++)
        {
            int level = (299 * rgba[4 * p] + 587 * rgba[4 * p + 1] + 114 * rgba[4 * p + 2] + 500) / 1000;
            if (level >= WhiteAtLeast) missing[p] = true;
            else if (level > BlackAtMost && grey++ == 0) (first, firstLevel) = (p, level);
        }
        if (grey > 0)
            throw new InputError(
                $"--mask {path}: {grey} pixel{(grey == 1 ? " is" : "s are")} neither black nor white (the first at row {first / bitmap.Width}, column "
                + $"{first % bitmap.Width}: level {firstLevel}); a mask is binary: {Rule}.");
        return missing;
    }

    /// <summary>
    /// The crop of a mask on a height x width grid: a grid pixel covers the crop's rows [y * ch / h, (y + 1) * ch / h) and
    /// columns likewise (rounded outwards), and is missing when any of them is.
    /// </summary>
    private static bool[] Scale(bool[] source, int sourceWidth, SKRectI crop, int height, int width)
    {
        var missing = new bool[height * width];
        for (int y = 0; y < height; y++)
        {
            int top = crop.Top + (int)((long)y * crop.Height / height);
            int bottom = crop.Top + (int)(((long)(y + 1) * crop.Height + height - 1) / height);
            for (int x = 0; x < width; x++)
            {
                int left = crop.Left + (int)((long)x * crop.Width / width);
                int right = crop.Left + (int)(((long)(x + 1) * crop.Width + width - 1) / width);
                bool any = false;
                for (int r = top; r < bottom && !any; r++)
                    for (int c = left; c < right && !any; c++)
                        any = source[r * sourceWidth + c];
                missing[y * width + x] = any;
            }
        }
        return missing;
    }
}
