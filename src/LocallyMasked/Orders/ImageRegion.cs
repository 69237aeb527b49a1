using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Orders;

/// <summary>
/// An immutable set of pixels of an <c>Height x Width</c> image, such as the region to complete.
/// </summary>
public sealed class ImageRegion
{
    private readonly bool[] _contains;

    private ImageRegion(int height, int width, bool[] contains)
    {
        Height = height;
        Width = width;
        _contains = contains;
        Pixels = Enumerable.Range(0, contains.Length).Where(p => contains[p]).ToArray();
    }

    /// <summary>The image height.</summary>
    public int Height { get; }

    /// <summary>The image width.</summary>
    public int Width { get; }

    /// <summary>The region's pixel indices (<c>row * Width + column</c>), ascending.</summary>
    public IReadOnlyList<int> Pixels { get; }

    /// <summary>Whether <paramref name="pixel"/> belongs to the region.</summary>
    /// <param name="pixel">A pixel index.</param>
    public bool Contains(int pixel) => (uint)pixel < (uint)_contains.Length && _contains[pixel];

    /// <summary>A region from explicit pixel indices (duplicates are ignored).</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <param name="pixels">Pixel indices in <c>[0, height * width)</c>.</param>
    public static ImageRegion FromPixels(int height, int width, IEnumerable<int> pixels)
    {
        int count = OrderArguments.CheckImageSize(height, width);
        ArgumentNullException.ThrowIfNull(pixels);
        var contains = new bool[count];
        foreach (int p in pixels)
        {
            if ((uint)p >= (uint)contains.Length)
            {
                throw new ArgumentException($"Pixel {p} is outside [0, {contains.Length}) for a {height}x{width} image.", nameof(pixels));
            }
            contains[p] = true;
        }
        return new ImageRegion(height, width, contains);
    }

    /// <summary>
    /// A region from a pixel mask: the pixels where <paramref name="missing"/> is true (or 1), such as the missing pixels of
    /// a picture to complete. Any set of pixels is allowed, not only boxes; an empty one too (check
    /// <see cref="Pixels"/> where that matters).
    /// </summary>
    /// <param name="missing">An (H, W) tensor, on any device: bool, or numbers that are all 0 or 1.</param>
    /// <exception cref="ArgumentException">Not two-dimensional, an empty side, or a value other than 0 and 1 (named, with where it is).</exception>
    public static ImageRegion FromMask(Tensor missing)
    {
        ArgumentNullException.ThrowIfNull(missing);
        if (missing.dim() != 2 || missing.shape[0] < 1 || missing.shape[1] < 1)
            throw new ArgumentException($"Expected a mask of shape (H, W) with H, W >= 1, got ({string.Join(", ", missing.shape)}).", nameof(missing));
        if (missing.is_complex())
            throw new ArgumentException($"Expected a bool mask or 0/1 values, got {missing.dtype}.", nameof(missing));
        if ((long)missing.shape[0] * missing.shape[1] > int.MaxValue)
            throw new ArgumentException($"A {missing.shape[0]}x{missing.shape[1]} mask has more pixels than an image index holds.", nameof(missing));
        int height = (int)missing.shape[0], width = (int)missing.shape[1];
        double[] values;
        using (NewDisposeScope())
            values = missing.detach().to(CPU).to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var contains = new bool[values.Length];
        for (int p = 0; p < values.Length; p++)
        {
            double v = values[p];
            if (v != 0 && v != 1)
                throw new ArgumentException(
                    $"The mask holds {v} at row {p / width}, column {p % width}; expected true/false or 1 (missing) and 0 (observed).", nameof(missing));
            contains[p] = v == 1;
        }
        return new ImageRegion(height, width, contains);
    }

    /// <summary>The rows <c>[top, top + boxHeight)</c> and columns <c>[left, left + boxWidth)</c>.</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <param name="top">The first row of the box.</param>
    /// <param name="left">The first column of the box.</param>
    /// <param name="boxHeight">The number of rows; at least 1.</param>
    /// <param name="boxWidth">The number of columns; at least 1.</param>
    public static ImageRegion Box(int height, int width, int top, int left, int boxHeight, int boxWidth)
    {
        OrderArguments.CheckImageSize(height, width);
        if (boxHeight < 1 || boxWidth < 1)
        {
            throw new ArgumentOutOfRangeException(boxHeight < 1 ? nameof(boxHeight) : nameof(boxWidth),
                $"A box needs at least one row and one column; got {boxHeight}x{boxWidth}.");
        }
        // In 64 bits: top + boxHeight must not wrap around to a small (or negative) number and pass the check.
        if (top < 0 || left < 0 || (long)top + boxHeight > height || (long)left + boxWidth > width)
        {
            throw new ArgumentOutOfRangeException(nameof(top),
                $"The box at ({top}, {left}) of size {boxHeight}x{boxWidth} does not fit in a {height}x{width} image.");
        }
        var pixels = new List<int>();
        for (int r = top; r < top + boxHeight; r++)
            for (int c = left; c < left + boxWidth; c++)
                pixels.Add(r * width + c);
        return FromPixels(height, width, pixels);
    }

    /// <summary>The top half of the rows (rounded down).</summary>
    /// <param name="height">The image height; at least 2.</param>
    /// <param name="width">The image width.</param>
    public static ImageRegion TopHalf(int height, int width) => Box(height, width, 0, 0, HalfOf(height, nameof(height)), width);

    /// <summary>The bottom half of the rows (rounded down).</summary>
    /// <param name="height">The image height; at least 2.</param>
    /// <param name="width">The image width.</param>
    public static ImageRegion BottomHalf(int height, int width)
    {
        int half = HalfOf(height, nameof(height));
        return Box(height, width, height - half, 0, half, width);
    }

    /// <summary>The left half of the columns (rounded down).</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width; at least 2.</param>
    public static ImageRegion LeftHalf(int height, int width) => Box(height, width, 0, 0, height, HalfOf(width, nameof(width)));

    /// <summary>The right half of the columns (rounded down).</summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width; at least 2.</param>
    public static ImageRegion RightHalf(int height, int width)
    {
        int half = HalfOf(width, nameof(width));
        return Box(height, width, 0, width - half, height, half);
    }

    /// <summary>The central box of half the height and half the width.</summary>
    /// <param name="height">The image height; at least 2.</param>
    /// <param name="width">The image width; at least 2.</param>
    public static ImageRegion Centre(int height, int width)
    {
        int h = HalfOf(height, nameof(height)), w = HalfOf(width, nameof(width));
        return Box(height, width, (height - h) / 2, (width - w) / 2, h, w);
    }

    private static int HalfOf(int size, string name)
    {
        if (size < 2) throw new ArgumentOutOfRangeException(name, size, "Halving a side needs at least 2 pixels.");
        return size / 2;
    }
}
