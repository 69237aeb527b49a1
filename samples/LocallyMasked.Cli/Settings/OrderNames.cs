using LocallyMasked.Orders;

namespace LocallyMasked.Cli;

/// <summary>
/// Maps the names accepted by <c>--order</c> to orders. Two vocabularies are accepted: the program's own names
/// and the names of the authors' <c>main.py --order</c>, which mean exactly the authors' orders:
/// <list type="table">
/// <listheader><term>name</term><description>order</description></listheader>
/// <item><term><c>s-curve</c>, <c>s_curve</c></term><description><see cref="GenerationOrders.SCurve"/></description></item>
/// <item><term><c>raster</c>, <c>raster_scan</c></term><description><see cref="GenerationOrders.Raster"/></description></item>
/// <item><term><c>zigzag</c></term><description><see cref="GenerationOrders.ZigZag"/> (the program's own; the authors have none)</description></item>
/// <item><term><c>gilbert2d</c></term><description><see cref="GenerationOrders.GeneralizedHilbert"/>, any size</description></item>
/// <item><term><c>s_curve_center_quarter_last</c></term><description><see cref="GenerationOrders.SCurveCentreQuarterLast"/></description></item>
/// <item><term><c>hilbert</c></term><description>
/// on a square image whose side is a power of two, <see cref="GenerationOrders.Hilbert"/> (the authors'
/// <c>hilbert</c>); on any other size, where the authors' <c>hilbert</c> is undefined (their code asserts),
/// <see cref="GenerationOrders.GeneralizedHilbert"/> (their <c>gilbert2d</c>), so that the name keeps working
/// for 28x28 digits as it always has.
/// </description></item>
/// </list>
/// A name's symmetric variants come in the authors' <c>augment_orders</c> index order (identity, reflect rows,
/// reflect columns, reflect both, transpose, then transpose followed by each reflection), so variant indices of
/// the authors' test flags mean the same orders here.
/// </summary>
public static class OrderNames
{
    /// <summary>The program's own names.</summary>
    public static IReadOnlyList<string> ProgramNames { get; } = new[] { "s-curve", "raster", "zigzag", "hilbert" };

    /// <summary>The names of the authors' <c>main.py --order</c>; each means exactly the authors' order (<see cref="ReferenceOrders"/>).</summary>
    public static IReadOnlyList<string> AuthorsNames => ReferenceOrders.Names;

    /// <summary>The names accepted by --order: the program's and the authors' (<c>hilbert</c> is in both).</summary>
    public static IReadOnlyList<string> All { get; } = ProgramNames.Concat(ReferenceOrders.Names).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>A description of the names for the <c>--order</c> option's help.</summary>
    public static string Description { get; } =
        "Base order: s-curve|s_curve, raster|raster_scan, zigzag, gilbert2d (generalized Hilbert, any size), "
        + "s_curve_center_quarter_last (S-curve, centre block last), or hilbert (the Hilbert curve on square "
        + "power-of-two images, gilbert2d on other sizes). The underscore names are the authors' main.py names "
        + "and give exactly their orders; the 8 variants follow their index order.";

    /// <summary>The base order called <paramref name="name"/> for an image of the given size.</summary>
    /// <param name="name">One of <see cref="All"/>.</param>
    /// <param name="height">Image height; at least 1.</param>
    /// <param name="width">Image width; at least 1.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="All"/>.</exception>
    public static GenerationOrder Create(string name, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "s-curve" => GenerationOrders.SCurve(height, width),
            "raster" => GenerationOrders.Raster(height, width),
            "zigzag" => GenerationOrders.ZigZag(height, width),
            // The authors' hilbert exists only for power-of-two squares; elsewhere their generalized curve
            // is the Hilbert order (28x28 digits).
            "hilbert" when !IsPowerOfTwoSquare(height, width) => GenerationOrders.GeneralizedHilbert(height, width),
            _ when ReferenceOrders.Names.Contains(name) => ReferenceOrders.Create(name, height, width),
            _ => throw new ArgumentException($"Unknown order '{name}'; expected one of {string.Join(", ", All)}.", nameof(name)),
        };
    }

    /// <summary>
    /// The orders a model uses: the base order's first <paramref name="count"/> symmetric variants (1 to 8), in the
    /// authors' index order (identity, reflect rows, reflect columns, ...).
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

    private static bool IsPowerOfTwoSquare(int height, int width) =>
        height == width && height > 0 && (height & (height - 1)) == 0;
}
