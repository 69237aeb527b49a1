using LocallyMasked.Masks;
using LocallyMasked.Orders;
using LocallyMasked.Training.Pictures;

namespace LocallyMasked.Cli.Imaging;

/// <summary>
/// Pictures of generation orders as rasters: the path through the pixel grid (cells shaded by rank, consecutive
/// pixels joined, the last pixel marked) and the local masks (each pixel's k x k taps).
/// </summary>
public static class OrderPictures
{
    /// <summary>The path colour.</summary>
    public static (byte R, byte G, byte B) PathColour { get; } = (220, 40, 40);

    /// <summary>The colour of the first pixel's marker.</summary>
    public static (byte R, byte G, byte B) FirstColour { get; } = (40, 170, 40);

    /// <summary>The colour of the last pixel's marker.</summary>
    public static (byte R, byte G, byte B) LastColour { get; } = (30, 60, 220);

    /// <summary>
    /// Draws the order as a path: each pixel is a cell of <paramref name="cell"/> x <paramref name="cell"/> shaded from
    /// dark (generated first) to light (generated last); a line joins the centres of consecutive pixels; the first
    /// pixel carries a green square, the last a blue one.
    /// </summary>
    /// <param name="order">The order.</param>
    /// <param name="cell">Cell size in picture pixels, at least 4.</param>
    public static RgbImage Path(GenerationOrder order, int cell = 12)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (cell < 4) throw new ArgumentException($"Expected a cell size of at least 4, got {cell}.", nameof(cell));
        var canvas = new RasterCanvas(order.Width * cell, order.Height * cell, (255, 255, 255));
        int n = order.PixelCount;
        for (int p = 0; p < n; p++)
        {
            byte shade = (byte)(90 + 150 * order.Ranks[p] / Math.Max(1, n - 1));
            canvas.Fill(p % order.Width * cell + 1, p / order.Width * cell + 1, cell - 1, cell - 1, (shade, shade, shade));
        }
        (int X, int Y) Centre(int pixel) => (pixel % order.Width * cell + cell / 2, pixel / order.Width * cell + cell / 2);
        for (int i = 1; i < n; i++)
        {
            var (x0, y0) = Centre(order.Sequence[i - 1]);
            var (x1, y1) = Centre(order.Sequence[i]);
            Line(canvas, x0, y0, x1, y1, PathColour);
        }
        int marker = Math.Max(2, cell / 3);
        var (fx, fy) = Centre(order.Sequence[0]);
        canvas.Fill(fx - marker / 2, fy - marker / 2, marker, marker, FirstColour);
        var (lx, ly) = Centre(order.Sequence[n - 1]);
        canvas.Fill(lx - marker, ly - marker, 2 * marker, 2 * marker, LastColour);
        return canvas.ToImage();
    }

    /// <summary>
    /// Draws the local masks of an order: each image pixel becomes a k x k block of taps, white where the tap is
    /// visible (mask 1) and black where it is hidden, with the centre tap outlined in grey when hidden and light
    /// blue when visible; blocks are separated by one gap pixel.
    /// </summary>
    /// <param name="order">The order.</param>
    /// <param name="kernelSize">Kernel size k (odd).</param>
    /// <param name="dilation">Kernel dilation.</param>
    /// <param name="type">Mask type (A excludes the centre, B includes it).</param>
    /// <param name="tapSize">Picture pixels per tap.</param>
    public static RgbImage Masks(GenerationOrder order, int kernelSize = 3, int dilation = 1, MaskType type = MaskType.B, int tapSize = 3)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (tapSize <= 0) throw new ArgumentException($"Expected a positive tap size, got {tapSize}.", nameof(tapSize));
        var mask = LocalMasks.CreateArray(order, kernelSize, dilation, type);
        int k = kernelSize, block = k * tapSize + 1, hw = order.PixelCount, centre = k * k / 2;
        var canvas = new RasterCanvas(order.Width * block + 1, order.Height * block + 1, ImageSheets.Gap);
        for (int p = 0; p < hw; p++)
        {
            int bx = p % order.Width * block + 1, by = p / order.Width * block + 1;
            for (int t = 0; t < k * k; t++)
            {
                bool visible = mask[t * hw + p] != 0;
                (byte, byte, byte) colour = t == centre
                    ? (visible ? ((byte)170, (byte)200, (byte)255) : ((byte)110, (byte)110, (byte)110))
                    : (visible ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0));
                canvas.Fill(bx + t % k * tapSize, by + t / k * tapSize, tapSize, tapSize, colour);
            }
        }
        return canvas.ToImage();
    }

    private static void Line(RasterCanvas canvas, int x0, int y0, int x1, int y1, (byte, byte, byte) colour)
    {
        // Bresenham, drawn two pixels thick so that the path stays visible when scaled down.
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            canvas.Fill(x0, y0, 2, 2, colour);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }
}
