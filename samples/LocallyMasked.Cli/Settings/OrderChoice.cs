using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// The orders asked for with <c>--order NAME --orders K</c>: the first K of the 8 symmetric variants of a base order.
/// Checked once, when made; the orders are built for an image size when the size is known (<see cref="Variants"/>).
/// </summary>
public sealed record OrderChoice
{
    /// <summary>The most variants a base order has.</summary>
    public const int MaxCount = 8;

    /// <summary>The base order a command uses when --order is left out.</summary>
    public const string DefaultName = "s-curve";

    /// <summary>Makes a choice.</summary>
    /// <param name="name">One of <see cref="OrderNames.All"/>.</param>
    /// <param name="count">How many variants, 1 to <see cref="MaxCount"/>.</param>
    /// <param name="nameGiven">Whether --order was typed.</param>
    /// <param name="countGiven">Whether --orders was typed.</param>
    /// <exception cref="ArgumentException">An unknown name or a count out of range (named as the option).</exception>
    public OrderChoice(string name = DefaultName, int count = MaxCount, bool nameGiven = false, bool countGiven = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!OrderNames.All.Contains(name))
            throw new ArgumentException($"--order {name}: expected one of {string.Join(", ", OrderNames.All)}.", nameof(name));
        if (count is < 1 or > MaxCount) throw new ArgumentException($"--orders {count}: expected 1 to {MaxCount}.", nameof(count));
        (Name, Count, NameGiven, CountGiven) = (name, count, nameGiven, countGiven);
    }

    /// <summary>The base order's name.</summary>
    public string Name { get; }

    /// <summary>How many of its variants.</summary>
    public int Count { get; }

    /// <summary>Whether --order was typed (rather than left at its default).</summary>
    public bool NameGiven { get; }

    /// <summary>Whether --orders was typed.</summary>
    public bool CountGiven { get; }

    /// <summary>Whether --order or --orders was typed: a model file's own orders then give way to these.</summary>
    public bool Given => NameGiven || CountGiven;

    /// <summary>
    /// The orders for an image of the given size: the base order's first <see cref="Count"/> variants, in the authors'
    /// index order. Where the name is undefined at that size and another order stands for it (<c>hilbert</c> off
    /// power-of-two squares), a line on <paramref name="terminal"/> says which.
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="terminal">Where a substitution is reported.</param>
    public IReadOnlyList<GenerationOrder> Variants(int height, int width, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        var resolved = OrderNames.Resolve(Name, height, width);
        if (resolved.Substitution is { } why) terminal.Line($"order: {why}");
        return resolved.Order.Variants().Take(Count).ToArray();
    }

    /// <summary>Refuses --order and --orders for a raster-only model unless they mean its raster order.</summary>
    /// <param name="model">The model.</param>
    /// <exception cref="InputError">--order or --orders was typed with another meaning than raster.</exception>
    public void CheckRasterOnly(ModelDefinition model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.TakesAnyOrder) return;
        if (NameGiven && !OrderNames.IsRaster(Name))
            throw new InputError($"--order {Name}: a {model.Name} model generates in raster order only; leave --order out (or give --order raster).");
        if (CountGiven && Count != 1)
            throw new InputError($"--orders {Count}: a {model.Name} model has one order (raster); leave --orders out (or give --orders 1).");
    }
}
