using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// Maps the names accepted by <c>--order</c> to orders. Two vocabularies are accepted: the program's own names and the
/// names of the authors' <c>main.py --order</c>, which mean exactly the authors' orders:
/// <list type="table">
/// <listheader><term>name</term><description>order</description></listheader>
/// <item><term><c>s-curve</c>, <c>s_curve</c></term><description><see cref="GenerationOrders.SCurve"/></description></item>
/// <item><term><c>raster</c>, <c>raster_scan</c></term><description><see cref="GenerationOrders.Raster"/></description></item>
/// <item><term><c>zigzag</c></term><description><see cref="GenerationOrders.ZigZag"/> (the program's own; the authors have none)</description></item>
/// <item><term><c>gilbert2d</c></term><description><see cref="GenerationOrders.GeneralizedHilbert"/>, any size</description></item>
/// <item><term><c>s_curve_center_quarter_last</c></term><description><see cref="GenerationOrders.SCurveCentreQuarterLast"/></description></item>
/// <item><term><c>hilbert</c></term><description><see cref="GenerationOrders.Hilbert"/> on square images whose side is a
/// power of two; elsewhere <see cref="ReferenceOrders.Resolve"/> gives its generalization, <c>gilbert2d</c>, and the
/// program prints that it did.</description></item>
/// </list>
/// The program only maps its names to the library's: what a name means at a size is <see cref="ReferenceOrders"/>'s rule.
/// A name's symmetric variants come in the authors' <c>augment_orders</c> index order (identity, reflect rows, reflect
/// columns, reflect both, transpose, then transpose followed by each reflection), so variant indices of the authors'
/// test flags mean the same orders here.
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
        + "power-of-two images; gilbert2d on other sizes, and the program says so). The underscore names are the authors' "
        + "main.py names and give exactly their orders; the 8 variants follow their index order.";

    /// <summary>
    /// The base order called <paramref name="name"/> for an image of the given size, with the name of the order given:
    /// another than the one asked for only where the name is undefined at that size (<see cref="ResolvedOrder.Substitution"/> says why).
    /// </summary>
    /// <param name="name">One of <see cref="All"/>.</param>
    /// <param name="height">Image height; at least 1.</param>
    /// <param name="width">Image width; at least 1.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="All"/>.</exception>
    public static ResolvedOrder Resolve(string name, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "zigzag") return new ResolvedOrder(name, name, GenerationOrders.ZigZag(height, width), null);
        string reference = name switch
        {
            "s-curve" => "s_curve",
            "raster" => "raster_scan",
            _ when ReferenceOrders.Names.Contains(name) => name,
            _ => throw new ArgumentException($"Unknown order '{name}'; expected one of {string.Join(", ", All)}.", nameof(name)),
        };
        return ReferenceOrders.Resolve(reference, height, width) with { RequestedName = name };
    }

    /// <summary>The base order called <paramref name="name"/> for an image of the given size (<see cref="Resolve"/>'s order).</summary>
    /// <param name="name">One of <see cref="All"/>.</param>
    /// <param name="height">Image height; at least 1.</param>
    /// <param name="width">Image width; at least 1.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not one of <see cref="All"/>.</exception>
    public static GenerationOrder Create(string name, int height, int width) => Resolve(name, height, width).Order;

    /// <summary>Whether <paramref name="name"/> means the raster order.</summary>
    /// <param name="name">An --order value.</param>
    public static bool IsRaster(string name) => name is "raster" or "raster_scan";
}
