using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Pictures;

/// <summary>
/// An immutable 8-bit RGB raster (row-major, 3 bytes per pixel): what <see cref="ImageSheets"/> composes and
/// <see cref="PngWriter"/> writes.
/// </summary>
public sealed class RgbImage
{
    private readonly byte[] pixels;

    /// <summary>Creates an image from row-major RGB bytes (the array is copied).</summary>
    /// <param name="width">Width in pixels, positive.</param>
    /// <param name="height">Height in pixels, positive.</param>
    /// <param name="rgb">width * height * 3 bytes.</param>
    public RgbImage(int width, int height, ReadOnlySpan<byte> rgb)
    {
        if (width <= 0) throw new ArgumentException($"Expected a positive width, got {width}.", nameof(width));
        if (height <= 0) throw new ArgumentException($"Expected a positive height, got {height}.", nameof(height));
        if (rgb.Length != width * height * 3)
            throw new ArgumentException($"Expected {width * height * 3} bytes for {width}x{height} RGB, got {rgb.Length}.", nameof(rgb));
        Width = width;
        Height = height;
        pixels = rgb.ToArray();
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The row-major RGB bytes.</summary>
    public ReadOnlySpan<byte> Pixels => pixels;

    /// <summary>The colour at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    /// <param name="x">Column in [0, Width).</param>
    /// <param name="y">Row in [0, Height).</param>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            if ((uint)x >= (uint)Width) throw new ArgumentOutOfRangeException(nameof(x), x, $"Expected a column in [0, {Width}).");
            if ((uint)y >= (uint)Height) throw new ArgumentOutOfRangeException(nameof(y), y, $"Expected a row in [0, {Height}).");
            int i = (y * Width + x) * 3;
            return (pixels[i], pixels[i + 1], pixels[i + 2]);
        }
    }

    /// <summary>
    /// Converts one image tensor of shape (C, H, W) with C = 1 (grey) or 3 (RGB) and values in [-1, 1] (the model's
    /// scale; values outside are clamped) to a raster.
    /// </summary>
    /// <param name="image">The image tensor, on any device, any floating dtype.</param>
    public static RgbImage FromTensor(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.dim() != 3 || (image.shape[0] != 1 && image.shape[0] != 3))
            throw new ArgumentException($"Expected an image of shape (1 or 3, H, W), got [{string.Join(", ", image.shape)}].", nameof(image));
        if (!image.is_floating_point())
            throw new ArgumentException($"Expected a floating-point image in [-1, 1], got {image.dtype}.", nameof(image));
        using var scope = NewDisposeScope();
        int c = (int)image.shape[0], h = (int)image.shape[1], w = (int)image.shape[2];
        var rgb = c == 1 ? image.expand(3, h, w) : image;
        var bytes = PixelScaling.ToBytes(rgb.detach().to(CPU).to_type(ScalarType.Float64)).permute(1, 2, 0).contiguous();
        return new RgbImage(w, h, bytes.data<byte>().ToArray());
    }
}
