namespace LocallyMasked.Orders;

/// <summary>
/// Generators of the pixel orders used with locally masked convolutions: raster, S-curve,
/// zig-zag and (generalized) Hilbert curves, and custom orders.
/// </summary>
public static class GenerationOrders
{
    /// <summary>Row by row, each row left to right (the classic PixelCNN order).</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    public static GenerationOrder Raster(int height, int width)
    {
        ValidateSize(height, width);
        return GenerationOrder.FromSequence(height, width, Enumerable.Range(0, height * width));
    }

    /// <summary>The S-curve (snake): even rows left to right, odd rows right to left.</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    public static GenerationOrder SCurve(int height, int width)
    {
        ValidateSize(height, width);
        var seq = new List<int>(height * width);
        for (int r = 0; r < height; r++)
        {
            for (int i = 0; i < width; i++)
            {
                int c = r % 2 == 0 ? i : width - 1 - i;
                seq.Add(r * width + c);
            }
        }
        return GenerationOrder.FromSequence(height, width, seq);
    }

    /// <summary>
    /// The zig-zag scan of JPEG: anti-diagonals in turn, alternating direction, starting
    /// (0,0), (0,1), (1,0), (2,0), (1,1), (0,2), ...
    /// </summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    public static GenerationOrder ZigZag(int height, int width)
    {
        ValidateSize(height, width);
        var seq = new List<int>(height * width);
        for (int s = 0; s <= height + width - 2; s++)
        {
            int rMin = Math.Max(0, s - (width - 1)), rMax = Math.Min(s, height - 1);
            if (s % 2 == 1)
            {
                for (int r = rMin; r <= rMax; r++) seq.Add(r * width + (s - r));
            }
            else
            {
                for (int r = rMax; r >= rMin; r--) seq.Add(r * width + (s - r));
            }
        }
        return GenerationOrder.FromSequence(height, width, seq);
    }

    /// <summary>
    /// The Hilbert curve of a square image whose side is a power of two, starting at the top-left
    /// pixel and ending at the top-right one; consecutive pixels are 4-neighbours.
    /// </summary>
    /// <param name="size">The side length: a power of two.</param>
    public static GenerationOrder Hilbert(int size)
    {
        if (size < 1 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size,
                "The Hilbert curve needs a square power-of-two side; use GeneralizedHilbert for other sizes.");
        }
        var seq = new int[size * size];
        for (int d = 0; d < seq.Length; d++)
        {
            // Classic distance-to-coordinates conversion, one quadrant level at a time.
            int x = 0, y = 0, t = d;
            for (int s = 1; s < size; s *= 2)
            {
                int rx = 1 & (t / 2);
                int ry = 1 & (t ^ rx);
                if (ry == 0)
                {
                    if (rx == 1)
                    {
                        x = s - 1 - x;
                        y = s - 1 - y;
                    }
                    (x, y) = (y, x);
                }
                x += s * rx;
                y += s * ry;
                t /= 4;
            }
            // x runs along rows' columns, y along rows.
            seq[d] = y * size + x;
        }
        return GenerationOrder.FromSequence(size, size, seq);
    }

    /// <summary>
    /// A generalized Hilbert ("gilbert") curve that fills any rectangle, such as 28x28 or 32x24,
    /// with a space-filling path of mostly 4-neighbour steps (one diagonal step can occur when the
    /// sides' parities force it).
    /// </summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    public static GenerationOrder GeneralizedHilbert(int height, int width)
    {
        ValidateSize(height, width);
        var seq = new List<int>(height * width);
        // Coordinates are (x = column, y = row); the major axis follows the longer side.
        if (width >= height) Gilbert(seq, width, 0, 0, width, 0, 0, height);
        else Gilbert(seq, width, 0, 0, 0, height, width, 0);
        return GenerationOrder.FromSequence(height, width, seq);
    }

    /// <summary>An order from an explicit list of pixel indices (validated as a permutation).</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <param name="sequence">Every pixel index <c>row * width + column</c> exactly once.</param>
    public static GenerationOrder Custom(int height, int width, IEnumerable<int> sequence) =>
        GenerationOrder.FromSequence(height, width, sequence);

    // Recursive subdivision of the rectangle spanned by the major vector (ax, ay) and the minor
    // vector (bx, by) from (x, y), after the generalized Hilbert construction of J. Cervený.
    private static void Gilbert(List<int> seq, int width, int x, int y, int ax, int ay, int bx, int by)
    {
        int w = Math.Abs(ax + ay), h = Math.Abs(bx + by);
        int dax = Math.Sign(ax), day = Math.Sign(ay), dbx = Math.Sign(bx), dby = Math.Sign(by);

        if (h == 1)
        {
            for (int i = 0; i < w; i++, x += dax, y += day) seq.Add(y * width + x);
            return;
        }
        if (w == 1)
        {
            for (int i = 0; i < h; i++, x += dbx, y += dby) seq.Add(y * width + x);
            return;
        }

        int ax2 = FloorHalf(ax), ay2 = FloorHalf(ay), bx2 = FloorHalf(bx), by2 = FloorHalf(by);
        int w2 = Math.Abs(ax2 + ay2), h2 = Math.Abs(bx2 + by2);

        if (2 * w > 3 * h)
        {
            // Long rectangle: split along the major axis only; prefer even-length halves.
            if (w2 % 2 != 0 && w > 2)
            {
                ax2 += dax;
                ay2 += day;
            }
            Gilbert(seq, width, x, y, ax2, ay2, bx, by);
            Gilbert(seq, width, x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by);
        }
        else
        {
            if (h2 % 2 != 0 && h > 2)
            {
                bx2 += dbx;
                by2 += dby;
            }
            // Up the minor axis, across the whole major axis, back down.
            Gilbert(seq, width, x, y, bx2, by2, ax2, ay2);
            Gilbert(seq, width, x + bx2, y + by2, ax, ay, bx - bx2, by - by2);
            Gilbert(seq, width, x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby),
                -bx2, -by2, -(ax - ax2), -(ay - ay2));
        }
    }

    // The construction needs floor division for negative vectors (C#'s / truncates).
    private static int FloorHalf(int v) => (int)Math.Floor(v / 2.0);

    private static void ValidateSize(int height, int width)
    {
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "The image height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "The image width must be at least 1.");
    }
}
