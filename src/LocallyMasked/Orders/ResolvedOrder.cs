namespace LocallyMasked.Orders;

/// <summary>
/// An order looked up by name for an image size (<see cref="ReferenceOrders.Resolve"/>): the order, the name asked for,
/// and the name of the order given, which differs where the asked one is undefined at that size and its generalization
/// was used instead.
/// </summary>
/// <param name="RequestedName">The name asked for.</param>
/// <param name="Name">The name of the order in <paramref name="Order"/>.</param>
/// <param name="Order">The order.</param>
/// <param name="Substitution">Why another order than the one asked for was given, as a sentence; null when it was not.</param>
public sealed record ResolvedOrder(string RequestedName, string Name, GenerationOrder Order, string? Substitution)
{
    /// <summary>Whether the order is another than the one asked for (<see cref="Substitution"/> says why).</summary>
    public bool IsSubstitute => Substitution is not null;
}
