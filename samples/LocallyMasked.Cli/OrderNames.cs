using LocallyMasked.Orders;

namespace LocallyMasked.Cli;

/// <summary>Maps the program's order names to orders.</summary>
public static class OrderNames
{
    /// <summary>The names accepted by --order.</summary>
    public static IReadOnlyList<string> All { get; } = new[] { "s-curve", "raster", "zigzag", "hilbert" };

    /// <summary>The base order called <paramref name="name"/> for an image of the given size.</summary>
    /// <param name="name">One of <see cref="All"/>.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public static GenerationOrder Create(string name, int height, int width) => name switch
    {
        "s-curve" => GenerationOrders.SCurve(height, width),
        "raster" => GenerationOrders.Raster(height, width),
        "zigzag" => GenerationOrders.ZigZag(height, width),
        "hilbert" => GenerationOrders.GeneralizedHilbert(height, width),
        _ => throw new ArgumentException($"Unknown order '{name}'; expected one of {string.Join(", ", All)}.", nameof(name)),
    };

    /// <summary>
    /// The orders a model uses: the base order's first <paramref name="count"/> symmetric variants (1 to 8), in the
    /// reference index order (identity, reflect rows, reflect columns, ...).
    /// </summary>
    /// <param name="name">The base order's name.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="count">How many variants, 1 to 8.</param>
    public static IReadOnlyList<GenerationOrder> Variants(string name, int height, int width, int count)
    {
        if (count < 1 || count > 8) throw new ArgumentException($"Expected 1 to 8 orders, got {count}.", nameof(count));
        return Create(name, height, width).Variants().Take(count).ToArray();
    }
}
