using SkiaSharp;

namespace LocallyMasked.Cli.Imaging;

/// <summary>
/// Encodes the library's rasters as PNG files with SkiaSharp. The library composes pictures as plain RGB rasters and
/// the program owns the native encoder, so that the library needs no native drawing package.
/// </summary>
public static class PngFile
{
    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> as a PNG (creating the folder), upscaled by an integer factor.</summary>
    /// <param name="image">The raster.</param>
    /// <param name="path">The output path.</param>
    /// <param name="scale">Integer upscaling factor (nearest neighbour), positive.</param>
    public static void Write(RgbImage image, string path, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (scale <= 0) throw new ArgumentException($"Expected a positive scale, got {scale}.", nameof(scale));
        int width = image.Width * scale, height = image.Height * scale;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[width * height * 4];
        var rgb = image.Pixels;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int s = ((y / scale) * image.Width + x / scale) * 3, d = (y * width + x) * 4;
                rgba[d] = rgb[s];
                rgba[d + 1] = rgb[s + 1];
                rgba[d + 2] = rgb[s + 2];
                rgba[d + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new IOException($"{path}: SkiaSharp could not encode the PNG.");
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}
