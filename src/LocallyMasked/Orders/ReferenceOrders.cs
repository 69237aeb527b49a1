namespace LocallyMasked.Orders;

/// <summary>
/// The orders of the reference code (ajayjain/lmconv, <c>masking.py</c>) by the names its <c>--order</c> option and its
/// checkpoints use: <c>raster_scan</c>, <c>s_curve</c>, <c>hilbert</c>, <c>gilbert2d</c> and
/// <c>s_curve_center_quarter_last</c>. Each equals the reference code's index array for every size it accepts.
/// </summary>
public static class ReferenceOrders
{
    /// <summary>The reference code's order names, in its parser's order.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "raster_scan", "s_curve", "hilbert", "gilbert2d", "s_curve_center_quarter_last" };

    /// <summary>The reference code's order called <paramref name="name"/> for an image of the given size.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The size does not suit the order (<c>hilbert</c> needs a power-of-two square).</exception>
    public static GenerationOrder Create(string name, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "raster_scan" => GenerationOrders.Raster(height, width),
            "s_curve" => GenerationOrders.SCurve(height, width),
            "hilbert" => height == width
                ? GenerationOrders.Hilbert(height)
                : throw new ArgumentOutOfRangeException(nameof(height), $"The reference hilbert order needs a square image, got {height}x{width}; gilbert2d fills any rectangle."),
            "gilbert2d" => GenerationOrders.GeneralizedHilbert(height, width),
            "s_curve_center_quarter_last" => GenerationOrders.SCurveCentreQuarterLast(height, width),
            _ => throw new ArgumentException($"Unknown reference order '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
