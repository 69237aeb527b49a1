namespace LocallyMasked.Orders;

/// <summary>
/// Generators of the pixel orders used with locally masked convolutions: raster, S-curve, zig-zag,
/// Hilbert and generalized Hilbert curves, and the S-curve with its centre last. Raster, S-curve, Hilbert,
/// generalized Hilbert and centre-last are pixel for pixel the authors' <c>raster_scan</c>, <c>s_curve</c>,
/// <c>hilbert</c>, <c>gilbert2d</c> and <c>s_curve_center_quarter_last</c>; their 8 symmetric variants are
/// <see cref="GenerationOrder.Variants"/>. Orders from an explicit pixel list are made with
/// <see cref="GenerationOrder.FromSequence"/>.
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
    /// The Hilbert curve of a square image whose side is a power of two, pixel for pixel the authors'
    /// <c>hilbert</c> order (their <c>hilbert_idx</c>: the <c>hilbertcurve</c> package's
    /// <c>coordinates_from_distance</c>, Skilling's transpose method, with row = coordinate 1 and
    /// column = coordinate 0). It starts at the top-left pixel (0, 0) and ends at the top-right one
    /// (0, size-1); its first step goes down when log2(size) is odd and right when it is even. Consecutive
    /// pixels are 4-neighbours. For sides of 2 or more it is the transpose of
    /// <see cref="GeneralizedHilbert"/>(size, size); a side of 1 (which the authors' code rejects) gives the
    /// single pixel.
    /// </summary>
    /// <param name="size">The side length: a power of two.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not a positive power of two.</exception>
    public static GenerationOrder Hilbert(int size)
    {
        if (size < 1 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size,
                "The Hilbert curve needs a square image whose side is a power of two; use GeneralizedHilbert for other sizes.");
        }
        int bits = System.Numerics.BitOperations.Log2((uint)size);
        var seq = new int[size * size];
        for (int d = 0; d < seq.Length; d++)
        {
            var (x0, x1) = HilbertTranspose(d, bits);
            seq[d] = x1 * size + x0;
        }
        return GenerationOrder.FromSequence(size, size, seq);
    }

    /// <summary>
    /// A generalized Hilbert ("gilbert") curve that fills any rectangle, such as 28x28 or 32x24, pixel for
    /// pixel the authors' <c>gilbert2d</c> order (J. Cervený's construction as their
    /// <c>gilbert2d_idx(rows, cols)</c> runs it, with each emitted [x, y] read as (row, column)). It starts at
    /// the top-left pixel and runs along the longer side: it ends at the bottom-left pixel when
    /// <paramref name="height"/> &gt;= <paramref name="width"/> and at the top-right one otherwise. Steps are
    /// 4-neighbour moves except for at most one diagonal step where the sides' parities force it.
    /// </summary>
    /// <param name="height">The image height; at least 1.</param>
    /// <param name="width">The image width; at least 1.</param>
    public static GenerationOrder GeneralizedHilbert(int height, int width)
    {
        ValidateSize(height, width);
        var seq = new List<int>(height * width);
        // The authors call gilbert2d_idx(width: rows, height: cols) and use each [x, y] as (row, column), so x
        // runs along rows here; the major axis is the rows when there are at least as many rows as columns.
        if (height >= width) Gilbert(seq, width, 0, 0, height, 0, 0, width);
        else Gilbert(seq, width, 0, 0, 0, width, height, 0);
        return GenerationOrder.FromSequence(height, width, seq);
    }

    /// <summary>
    /// The authors' <c>s_curve_center_quarter_last</c> order, used to complete the centre of an image: the
    /// <see cref="SCurve"/> with the central block, rows <c>height/4 .. height - height/4 - 1</c> and columns
    /// <c>width/4 .. width - width/4 - 1</c> (integer division), moved to the end; both groups keep their
    /// S-curve order. On images with fewer than 4 rows (or columns) that block spans every row (or column).
    /// </summary>
    /// <param name="height">The image height; at least 1.</param>
    /// <param name="width">The image width; at least 1.</param>
    public static GenerationOrder SCurveCentreQuarterLast(int height, int width)
    {
        ValidateSize(height, width);
        var centre = new List<int>();
        for (int r = height / 4; r < height - height / 4; r++)
        {
            for (int c = width / 4; c < width - width / 4; c++) centre.Add(r * width + c);
        }
        return SCurve(height, width).WithRegionLast(centre);
    }

    // Distance d along the Hilbert curve of order `bits` in two dimensions to its coordinates (x0, x1), as the
    // hilbertcurve package (1.x) computes them: de-interleave d into its transpose, Gray-decode, then undo the
    // excess work level by level (J. Skilling, "Programming the Hilbert curve", AIP Conf. Proc. 707, 2004).
    private static (int X0, int X1) HilbertTranspose(int d, int bits)
    {
        if (bits == 0) return (0, 0);
        // Bit 2*bits-1 of d (the most significant) goes to x0, the next to x1, and so on.
        int x0 = 0, x1 = 0;
        for (int i = bits - 1; i >= 0; i--)
        {
            x0 = (x0 << 1) | ((d >> (2 * i + 1)) & 1);
            x1 = (x1 << 1) | ((d >> (2 * i)) & 1);
        }
        // Gray decode by H ^ (H / 2).
        int t = x1 >> 1;
        x1 ^= x0;
        x0 ^= t;
        // Undo excess work.
        for (int q = 2; q != 1 << bits; q <<= 1)
        {
            int p = q - 1;
            // i = 1, then i = 0 (x0 itself: "exchange" with itself is a no-op, "invert" flips its low bits).
            if ((x1 & q) != 0) x0 ^= p;
            else
            {
                t = (x0 ^ x1) & p;
                x0 ^= t;
                x1 ^= t;
            }
            if ((x0 & q) != 0) x0 ^= p;
        }
        return (x0, x1);
    }

    // Recursive subdivision of the rectangle spanned by the major vector (ax, ay) and the minor vector (bx, by)
    // from (x, y), after the generalized Hilbert construction of J. Cervený, in the authors' convention:
    // x is the row, y the column.
    private static void Gilbert(List<int> seq, int width, int x, int y, int ax, int ay, int bx, int by)
    {
        int w = Math.Abs(ax + ay), h = Math.Abs(bx + by);
        int dax = Math.Sign(ax), day = Math.Sign(ay), dbx = Math.Sign(bx), dby = Math.Sign(by);

        if (h == 1)
        {
            for (int i = 0; i < w; i++, x += dax, y += day) seq.Add(x * width + y);
            return;
        }
        if (w == 1)
        {
            for (int i = 0; i < h; i++, x += dbx, y += dby) seq.Add(x * width + y);
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

    private static void ValidateSize(int height, int width) => OrderArguments.CheckImageSize(height, width);
}
