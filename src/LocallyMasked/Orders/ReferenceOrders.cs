namespace LocallyMasked.Orders;

/// <summary>
/// The orders of the reference code (ajayjain/lmconv, <c>masking.py</c>) by the names its <c>--order</c> option and its
/// checkpoints use: <c>raster_scan</c>, <c>s_curve</c>, <c>hilbert</c>, <c>gilbert2d</c> and
/// <c>s_curve_center_quarter_last</c>. Each equals the reference code's index array for every size it accepts.
/// <para>
/// The one rule about sizes lives here: the reference code defines <c>hilbert</c> on square images whose side is a power
/// of two only (it asserts elsewhere); every other order on any size. <see cref="Create"/> keeps to that rule and refuses
/// other sizes; <see cref="Resolve"/> gives, where a name is undefined at a size, the order that generalizes it to any
/// rectangle (<c>gilbert2d</c> for <c>hilbert</c>) and says so, so that a caller can report the substitution.
/// </para>
/// </summary>
public static class ReferenceOrders
{
    /// <summary>The reference code's order names, in its parser's order.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "raster_scan", "s_curve", "hilbert", "gilbert2d", "s_curve_center_quarter_last" };

    /// <summary>
    /// Whether the reference code defines the order called <paramref name="name"/> on images of the given size:
    /// <c>hilbert</c> on square images whose side is a power of two, every other order on any size.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static bool IsDefined(string name, int height, int width)
    {
        CheckName(name);
        return name != "hilbert" || (height == width && height >= 1 && (height & (height - 1)) == 0);
    }

    /// <summary>
    /// The name of the order that generalizes <paramref name="name"/> to images of any size: <c>gilbert2d</c> (the
    /// generalized Hilbert curve) for <c>hilbert</c>; the name itself for every other order.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static string Generalization(string name)
    {
        CheckName(name);
        return name == "hilbert" ? "gilbert2d" : name;
    }

    /// <summary>The reference code's order called <paramref name="name"/> for an image of the given size.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The reference code does not define the order at this size
    /// (<see cref="IsDefined"/>: <c>hilbert</c> needs a square whose side is a power of two).</exception>
    public static GenerationOrder Create(string name, int height, int width)
    {
        if (!IsDefined(name, height, width))
            throw new ArgumentOutOfRangeException(nameof(height),
                $"The reference {name} order needs a square image whose side is a power of two, got {height}x{width}; "
                + $"{Generalization(name)}, its generalization, fills any rectangle.");
        return Build(name, height, width);
    }

    /// <summary>
    /// The order called <paramref name="name"/> for an image of the given size or, where the reference code does not
    /// define it at that size (<see cref="IsDefined"/>), the order that generalizes it (<see cref="Generalization"/>).
    /// The result names the order it holds and, for a substitute, why it was used.
    /// </summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="height">The image height; at least 1.</param>
    /// <param name="width">The image width; at least 1.</param>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    public static ResolvedOrder Resolve(string name, int height, int width)
    {
        if (IsDefined(name, height, width)) return new ResolvedOrder(name, name, Build(name, height, width), null);
        string used = Generalization(name);
        return new ResolvedOrder(name, used, Build(used, height, width),
            $"{name} is defined on square images whose side is a power of two; {height}x{width} images use {used}, its generalization to any rectangle");
    }

    private static GenerationOrder Build(string name, int height, int width) => name switch
    {
        "raster_scan" => GenerationOrders.Raster(height, width),
        "s_curve" => GenerationOrders.SCurve(height, width),
        "hilbert" => GenerationOrders.Hilbert(height),
        "gilbert2d" => GenerationOrders.GeneralizedHilbert(height, width),
        _ => GenerationOrders.SCurveCentreQuarterLast(height, width),
    };

    private static void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Names.Contains(name))
            throw new ArgumentException($"Unknown reference order '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name));
    }
}
