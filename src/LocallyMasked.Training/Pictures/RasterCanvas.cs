namespace LocallyMasked.Training.Pictures;

/// <summary>A mutable RGB canvas used to compose sheets of images before freezing them into an <see cref="RgbImage"/>.</summary>
public sealed class RasterCanvas
{
    private readonly byte[] pixels;

    /// <summary>Creates a canvas filled with one colour.</summary>
    /// <param name="width">Width in pixels, positive.</param>
    /// <param name="height">Height in pixels, positive.</param>
    /// <param name="background">The fill colour.</param>
    public RasterCanvas(int width, int height, (byte R, byte G, byte B) background)
    {
        if (width <= 0) throw new ArgumentException($"Expected a positive width, got {width}.", nameof(width));
        if (height <= 0) throw new ArgumentException($"Expected a positive height, got {height}.", nameof(height));
        Width = width;
        Height = height;
        pixels = new byte[width * height * 3];
        Fill(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Fills a rectangle, clipped to the canvas.</summary>
    /// <param name="x">Left column.</param>
    /// <param name="y">Top row.</param>
    /// <param name="width">Rectangle width.</param>
    /// <param name="height">Rectangle height.</param>
    /// <param name="colour">The colour.</param>
    public void Fill(int x, int y, int width, int height, (byte R, byte G, byte B) colour)
    {
        for (int r = Math.Max(0, y); r < Math.Min(Height, y + height); r++)
            for (int c = Math.Max(0, x); c < Math.Min(Width, x + width); c++)
                Set(c, r, colour);
    }

    /// <summary>Sets one pixel; points outside the canvas are ignored.</summary>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    /// <param name="colour">The colour.</param>
    public void Set(int x, int y, (byte R, byte G, byte B) colour)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        (pixels[i], pixels[i + 1], pixels[i + 2]) = colour;
    }

    /// <summary>Copies an image with its top-left corner at (x, y), each source pixel drawn as a scale x scale block.</summary>
    /// <param name="image">The image to copy.</param>
    /// <param name="x">Left column of the destination.</param>
    /// <param name="y">Top row of the destination.</param>
    /// <param name="scale">Block size per source pixel, positive.</param>
    public void Draw(RgbImage image, int x, int y, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (scale <= 0) throw new ArgumentException($"Expected a positive scale, got {scale}.", nameof(scale));
        for (int r = 0; r < image.Height; r++)
            for (int c = 0; c < image.Width; c++)
                Fill(x + c * scale, y + r * scale, scale, scale, image[c, r]);
    }

    /// <summary>Freezes the current content into an immutable image.</summary>
    public RgbImage ToImage() => new(Width, Height, pixels);
}
