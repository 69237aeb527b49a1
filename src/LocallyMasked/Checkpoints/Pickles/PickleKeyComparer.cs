using System.Numerics;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// Compares dictionary keys and set items as Python does for the hashable values a pickle can hold: strings by their
/// characters, numbers by value (<c>1 == 1.0 == True</c>), bytes by content, tuples item by item, globals by name, other
/// objects by identity. Tuples are compared to a bounded depth (<see cref="MaxTupleDepth"/>), which
/// <see cref="PickleMachine"/> checks before a key is stored, so no comparison recurses without end.
/// </summary>
internal sealed class PickleKeyComparer : IEqualityComparer<object>
{
    /// <summary>How deeply tuples may nest inside a key.</summary>
    public const int MaxTupleDepth = 16;

    /// <summary>The one instance.</summary>
    public static PickleKeyComparer Instance { get; } = new();

    private PickleKeyComparer()
    {
    }

    /// <summary>Whether a value can be a key (as in Python: no lists, dicts or mutable sets), with tuples at most <see cref="MaxTupleDepth"/> deep.</summary>
    /// <param name="value">The candidate key.</param>
    public static bool IsHashable(object? value) => IsHashable(value, 0);

    /// <inheritdoc />
    public new bool Equals(object? x, object? y) => AreEqual(x, y, 0);

    /// <inheritdoc />
    public int GetHashCode(object value) => Hash(value, 0);

    private static bool IsHashable(object? value, int depth) => value switch
    {
        PickleList or PickleDict or PickleSet => false,
        PickleTuple t => depth < MaxTupleDepth && t.All(item => IsHashable(item, depth + 1)),
        _ => true,
    };

    private static bool AreEqual(object? x, object? y, int depth)
    {
        if (ReferenceEquals(x, y)) return true;
        if (x is null || y is null || depth > MaxTupleDepth) return false;
        if (Number(x) is { } a && Number(y) is { } b) return a.Equals(b);
        return (x, y) switch
        {
            (string s, string t) => string.Equals(s, t, StringComparison.Ordinal),
            (byte[] s, byte[] t) => s.AsSpan().SequenceEqual(t),
            (PickleTuple s, PickleTuple t) => s.Count == t.Count && Enumerable.Range(0, s.Count).All(i => AreEqual(s[i], t[i], depth + 1)),
            (PickleGlobal s, PickleGlobal t) => s == t,
            _ => false,
        };
    }

    private static int Hash(object? value, int depth)
    {
        if (value is null || depth > MaxTupleDepth) return 0;
        if (Number(value) is { } number) return number.GetHashCode();
        return value switch
        {
            string s => StringComparer.Ordinal.GetHashCode(s),
            byte[] b => b.Length == 0 ? 1 : HashCode.Combine(b.Length, b[0], b[^1]),
            PickleTuple t => t.Aggregate(t.Count, (h, item) => HashCode.Combine(h, Hash(item, depth + 1))),
            PickleGlobal g => g.GetHashCode(),
            _ => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(value),
        };
    }

    /// <summary>A number in one form per value: an integer when it is one, else the double; null for other values.</summary>
    private static object? Number(object value) => value switch
    {
        bool b => (BigInteger)(b ? 1 : 0),
        long l => (BigInteger)l,
        BigInteger i => i,
        double d when double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 1e300 => new BigInteger(d),
        double d => d,
        _ => null,
    };
}
