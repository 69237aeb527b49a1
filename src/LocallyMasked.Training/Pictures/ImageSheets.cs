using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Pictures;

/// <summary>
/// Lays out batches of images in [-1, 1] as pictures: sample grids, completion sheets of test images (context,
/// completion and original in rows) and of pictures (a row each); write them with <see cref="PngWriter"/>.
/// </summary>
public static class ImageSheets
{
    /// <summary>The colour between tiles.</summary>
    public static (byte R, byte G, byte B) Gap { get; } = (40, 40, 40);

    /// <summary>The colour that marks the hidden region in a completion's context.</summary>
    public static (byte R, byte G, byte B) Hidden { get; } = (160, 30, 30);

    /// <summary>
    /// A grid of images: a batch (N, C, H, W) in [-1, 1] laid out row by row, <paramref name="columns"/> per row,
    /// each pixel drawn as a scale x scale block and tiles separated by <paramref name="gap"/> pixels.
    /// </summary>
    /// <param name="images">The batch, C = 1 or 3.</param>
    /// <param name="columns">Tiles per row; 0 chooses a near-square layout.</param>
    /// <param name="scale">Block size per image pixel.</param>
    /// <param name="gap">Pixels between tiles and around the border.</param>
    public static RgbImage Grid(Tensor images, int columns = 0, int scale = 1, int gap = 1)
    {
        ArgumentNullException.ThrowIfNull(images);
        CheckBatch(images, nameof(images));
        int n = (int)images.shape[0];
        if (columns < 0) throw new ArgumentException($"Expected a non-negative column count, got {columns}.", nameof(columns));
        if (columns == 0) columns = Math.Max(1, (int)Math.Ceiling(Math.Sqrt(n)));
        columns = Math.Min(columns, n);
        int rows = (n + columns - 1) / columns;
        var tiles = Enumerable.Range(0, n).Select(i => Tile(images, i)).ToList();
        return Layout(tiles, rows, columns, scale, gap);
    }

    /// <summary>
    /// A completion sheet with one column per example and three rows: the context (the hidden region painted
    /// <see cref="Hidden"/>), the completion, and the original image.
    /// </summary>
    /// <param name="completions">Completed images (N, C, H, W) in [-1, 1].</param>
    /// <param name="originals">The original images, same shape.</param>
    /// <param name="region">The region that was generated.</param>
    /// <param name="scale">Block size per image pixel.</param>
    /// <param name="gap">Pixels between tiles.</param>
    public static RgbImage Completions(Tensor completions, Tensor originals, ImageRegion region, int scale = 1, int gap = 1)
    {
        ArgumentNullException.ThrowIfNull(completions);
        ArgumentNullException.ThrowIfNull(originals);
        ArgumentNullException.ThrowIfNull(region);
        CheckBatch(completions, nameof(completions));
        if (!completions.shape.SequenceEqual(originals.shape))
            throw new ArgumentException(
                $"Expected originals of shape [{string.Join(", ", completions.shape)}], got [{string.Join(", ", originals.shape)}].", nameof(originals));
        if (region.Height != completions.shape[2] || region.Width != completions.shape[3])
            throw new ArgumentException($"Expected a region of {completions.shape[2]}x{completions.shape[3]}, got {region.Height}x{region.Width}.", nameof(region));
        int n = (int)completions.shape[0];
        var tiles = new List<RgbImage>();
        for (int i = 0; i < n; i++) tiles.Add(Context(Tile(originals, i), region));
        for (int i = 0; i < n; i++) tiles.Add(Tile(completions, i));
        for (int i = 0; i < n; i++) tiles.Add(Tile(originals, i));
        return Layout(tiles, 3, n, scale, gap);
    }

    /// <summary>
    /// A sheet of pictures, one row each: the context (the missing pixels painted <see cref="Hidden"/>), the completions,
    /// and the original; rows with fewer completions leave their places empty.
    /// </summary>
    /// <param name="rows">Per picture: the original (C, H, W) in [-1, 1] and its completions, each (C, H, W).</param>
    /// <param name="region">The missing pixels.</param>
    /// <param name="scale">Block size per image pixel.</param>
    /// <param name="gap">Pixels between tiles.</param>
    public static RgbImage PictureRows(IReadOnlyList<(Tensor Original, IReadOnlyList<Tensor> Completions)> rows, ImageRegion region, int scale = 1, int gap = 1)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(region);
        if (rows.Count == 0) throw new ArgumentException("Expected at least one row.", nameof(rows));
        int columns = 2 + rows.Max(r => r.Completions.Count);
        var tiles = new List<RgbImage?>();
        foreach (var (original, completions) in rows)
        {
            var picture = RgbImage.FromTensor(original);
            if (picture.Width != region.Width || picture.Height != region.Height)
                throw new ArgumentException($"Expected pictures of {region.Height}x{region.Width}, got {picture.Height}x{picture.Width}.", nameof(rows));
            tiles.Add(Context(picture, region));
            tiles.AddRange(completions.Select(RgbImage.FromTensor));
            tiles.AddRange(Enumerable.Repeat<RgbImage?>(null, columns - 2 - completions.Count));
            tiles.Add(picture);
        }
        return Layout(tiles, rows.Count, columns, scale, gap);
    }

    private static RgbImage Context(RgbImage original, ImageRegion region)
    {
        var canvas = new RasterCanvas(original.Width, original.Height, (0, 0, 0));
        canvas.Draw(original, 0, 0);
        foreach (int p in region.Pixels) canvas.Set(p % region.Width, p / region.Width, Hidden);
        return canvas.ToImage();
    }

    private static RgbImage Tile(Tensor images, int index)
    {
        using var image = images[index];
        return RgbImage.FromTensor(image);
    }

    /// <summary>Lays tiles out row by row; a null tile leaves its place in the gap colour.</summary>
    private static RgbImage Layout(IReadOnlyList<RgbImage?> tiles, int rows, int columns, int scale, int gap)
    {
        if (scale <= 0) throw new ArgumentException($"Expected a positive scale, got {scale}.", nameof(scale));
        if (gap < 0) throw new ArgumentException($"Expected a non-negative gap, got {gap}.", nameof(gap));
        var first = tiles.First(t => t is not null)!;
        int tw = first.Width * scale, th = first.Height * scale;
        var canvas = new RasterCanvas(gap + columns * (tw + gap), gap + rows * (th + gap), Gap);
        for (int i = 0; i < tiles.Count; i++)
            if (tiles[i] is { } tile) canvas.Draw(tile, gap + i % columns * (tw + gap), gap + i / columns * (th + gap), scale);
        return canvas.ToImage();
    }

    private static void CheckBatch(Tensor images, string name)
    {
        if (images.dim() != 4 || (images.shape[1] != 1 && images.shape[1] != 3) || images.shape[0] == 0)
            throw new ArgumentException($"Expected a non-empty batch of shape (N, 1 or 3, H, W), got [{string.Join(", ", images.shape)}].", name);
    }
}
