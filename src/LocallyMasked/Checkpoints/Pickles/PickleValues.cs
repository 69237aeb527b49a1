using System.Collections;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// A container built by <see cref="PickleMachine"/>, with its nesting height: 0 for an empty container, else one more
/// than its highest element when it was added (elements added to a container already inside another do not raise the
/// outer one's height, so walks of the values must stay bounded on their own).
/// </summary>
internal interface IPickleContainer
{
    /// <summary>How many containers deep the value nests, as measured while it was built.</summary>
    int Height { get; set; }
}

/// <summary>A Python list.</summary>
internal sealed class PickleList : List<object?>, IPickleContainer
{
    /// <inheritdoc />
    public int Height { get; set; }
}

/// <summary>A Python tuple: immutable, its height fixed when built.</summary>
internal sealed class PickleTuple(object?[] items, int height) : IReadOnlyList<object?>, IPickleContainer
{
    /// <summary>The empty tuple.</summary>
    public static PickleTuple Empty { get; } = new(Array.Empty<object?>(), 0);

    /// <inheritdoc />
    public int Height { get; set; } = height;

    /// <inheritdoc />
    public int Count => items.Length;

    /// <inheritdoc />
    public object? this[int index] => items[index];

    /// <inheritdoc />
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => items.GetEnumerator();
}

/// <summary>A Python dict (or <c>collections.OrderedDict</c>): insertion order kept, keys compared as Python compares them.</summary>
internal sealed class PickleDict() : Dictionary<object, object?>(PickleKeyComparer.Instance), IPickleContainer
{
    /// <inheritdoc />
    public int Height { get; set; }

    /// <summary>The value under a string key, or null when absent.</summary>
    /// <param name="key">The key.</param>
    public object? Get(string key) => TryGetValue(key, out var value) ? value : null;
}

/// <summary>A Python set or frozenset.</summary>
internal sealed class PickleSet() : HashSet<object>(PickleKeyComparer.Instance), IPickleContainer
{
    /// <inheritdoc />
    public int Height { get; set; }
}

/// <summary>A global name (<c>module.name</c>) as GLOBAL or STACK_GLOBAL give it; nothing is imported or run.</summary>
/// <param name="Module">The module.</param>
/// <param name="Name">The name inside the module.</param>
internal sealed record PickleGlobal(string Module, string Name)
{
    /// <inheritdoc />
    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>
/// An object the pickle would build by calling something (REDUCE, NEWOBJ, INST, OBJ): what it calls, its arguments and
/// what BUILD, SETITEM(S) and APPEND(S) give it. Inert data: nothing is called.
/// </summary>
internal sealed class PickleObject(object? callable, PickleTuple arguments) : IPickleContainer
{
    /// <summary>What would be called (usually a <see cref="PickleGlobal"/>).</summary>
    public object? Callable { get; } = callable;

    /// <summary>The arguments of the call.</summary>
    public PickleTuple Arguments { get; } = arguments;

    /// <summary>The state BUILD gives it (a dict for most classes, e.g. <c>argparse.Namespace</c>), or null.</summary>
    public object? State { get; set; }

    /// <summary>Items SETITEM(S) store in it (a dict subclass), or null.</summary>
    public PickleDict? DictItems { get; set; }

    /// <summary>Items APPEND(S) add to it (a list subclass), or null.</summary>
    public PickleList? ListItems { get; set; }

    /// <inheritdoc />
    public int Height { get; set; }
}

/// <summary>Stands for Python's None as a dictionary key (.NET dictionaries take no null key).</summary>
internal sealed class PickleNoneKey
{
    /// <summary>The one instance.</summary>
    public static PickleNoneKey Instance { get; } = new();

    private PickleNoneKey()
    {
    }

    /// <inheritdoc />
    public override string ToString() => "None";
}
