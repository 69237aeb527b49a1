using System.Buffers.Binary;
using SkiaSharp;

namespace LocallyMasked.Cli.Tests;

/// <summary>Writes small PNG, JPEG and BMP files for the image-folder tests.</summary>
internal static class ImageFiles
{
    public static string Png(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colour) =>
        Encode(path, width, height, colour, SKEncodedImageFormat.Png);

    public static string Jpeg(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colour) =>
        Encode(path, width, height, colour, SKEncodedImageFormat.Jpeg);

    /// <summary>A grey PNG (8-bit grey colour type).</summary>
    public static string GreyPng(string path, int width, int height, Func<int, int, byte> level)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                byte v = level(x, y);
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        return Save(path, bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>A 24-bit BMP written by hand (Skia decodes BMP but does not encode it).</summary>
    public static string Bmp(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colour)
    {
        int stride = (width * 3 + 3) / 4 * 4;
        var data = new byte[54 + stride * height];
        data[0] = (byte)'B';
        data[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(2), data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), height);   // positive: rows bottom-up
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(28), 24);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                int at = 54 + (height - 1 - y) * stride + 3 * x;
                (data[at], data[at + 1], data[at + 2]) = (b, g, r);
            }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data);
        return path;
    }

    private static string Encode(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> colour, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        return Save(path, bitmap, format);
    }

    private static string Save(string path, SKBitmap bitmap, SKEncodedImageFormat format)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(format, 100) ?? throw new InvalidOperationException($"cannot encode {format}");
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
