namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// Python's pickle machine (protocols 0 to 5), reduced to building inert values: lists, tuples, dicts, sets, numbers,
/// strings, bytes, global names and <see cref="PickleObject"/>s; nothing is imported or called, and what a format gives
/// meaning to (torch.save's tensors) is built by an <see cref="IPickleHost"/>. Bounded: the bytes read
/// (<see cref="PickleInput"/>), the values pushed or remembered and the nesting height of containers (checked as each
/// element is added) have limits; a malformed pickle is an <see cref="InvalidDataException"/> or an
/// <see cref="EndOfStreamException"/>, a pickle beyond a limit a <see cref="PickleLimitException"/>. Reference cycles
/// (<c>L = []; L.append(L)</c>) are built as Python builds them; code that walks the values must bound itself.
/// Out-of-band buffers (protocol 5) and the extension registry (EXT1/2/4) are refused.
/// </summary>
internal sealed partial class PickleMachine
{
    private readonly PickleInput _input;
    private readonly IPickleHost? _host;
    private readonly int _maxDepth;
    private readonly long _maxValues;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private long _values;

    private PickleMachine(PickleInput input, IPickleHost? host, int maxDepth, long maxValues)
    {
        _input = input;
        _host = host;
        _maxDepth = maxDepth;
        _maxValues = maxValues;
    }

    /// <summary>Reads one pickle (up to and including its STOP opcode) and returns its value.</summary>
    /// <param name="input">The bytes.</param>
    /// <param name="host">Gives persistent ids and known calls their meaning, or null.</param>
    /// <param name="maxDepth">The deepest nesting of containers allowed.</param>
    /// <param name="maxValues">The most values the pickle may push or remember.</param>
    public static object? Load(PickleInput input, IPickleHost? host, int maxDepth, long maxValues)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new PickleMachine(input, host, maxDepth, maxValues).Run();
    }

    private object? Run()
    {
        while (true)
        {
            long at = _input.Position;
            byte op = _input.ReadByte();
            if (op == (byte)'.')
            {
                if (_stack.Count == 0) throw Invalid(at, "STOP with an empty stack");
                return _stack[^1];
            }
            if (!RunScalar(op, at) && !RunContainer(op, at) && !RunCall(op, at))
                throw Invalid(at, op is 0x82 or 0x83 or 0x84 ? "the extension registry (EXT1/2/4) is not supported"
                    : op is 0x97 or 0x98 ? "out-of-band buffers (protocol 5) are not supported"
                    : $"unknown opcode 0x{op:x2}");
        }
    }

    /// <summary>Containers, the stack and the memo.</summary>
    private bool RunContainer(byte op, long at)
    {
        switch (op)
        {
            case (byte)'(': _marks.Add(_stack.Count); break;
            case (byte)'0':
                if (_stack.Count > MarkBase) _stack.RemoveAt(_stack.Count - 1);
                else PopMark(at);
                break;
            case (byte)'1': PopMark(at); break;
            case (byte)'2': Push(Top(at)); break;
            case (byte)')': Push(PickleTuple.Empty); break;
            case (byte)'t': Push(Tuple(PopMark(at).ToArray())); break;
            case 0x85: Push(Tuple(PopItems(1, at))); break;
            case 0x86: Push(Tuple(PopItems(2, at))); break;
            case 0x87: Push(Tuple(PopItems(3, at))); break;
            case (byte)']': Push(new PickleList()); break;
            case (byte)'l':
            {
                var list = new PickleList();
                foreach (var item in PopMark(at)) Append(list, item, at);
                Push(list);
                break;
            }
            case (byte)'}': Push(new PickleDict()); break;
            case (byte)'d':
            {
                var dict = new PickleDict();
                SetItems(dict, PopMark(at), at);
                Push(dict);
                break;
            }
            case 0x8f: Push(new PickleSet()); break;
            case 0x91:
            {
                var set = new PickleSet();
                foreach (var item in PopMark(at)) Add(set, item, at);
                Push(set);
                break;
            }
            case 0x90:
            {
                var items = PopMark(at);
                if (Top(at) is not PickleSet set) throw Invalid(at, "ADDITEMS on something that is not a set");
                foreach (var item in items) Add(set, item, at);
                break;
            }
            case (byte)'a':
            {
                var item = Pop(at);
                Append(ListOf(Top(at), at), item, at);
                break;
            }
            case (byte)'e':
            {
                var items = PopMark(at);
                var list = ListOf(Top(at), at);
                foreach (var item in items) Append(list, item, at);
                break;
            }
            case (byte)'s':
            {
                var value = Pop(at);
                var key = Pop(at);
                SetItems(DictOf(Top(at), at), new List<object?> { key, value }, at);
                break;
            }
            case (byte)'u':
            {
                var items = PopMark(at);
                SetItems(DictOf(Top(at), at), items, at);
                break;
            }
            case (byte)'g': Push(Recall(ParseIndex(_input.ReadLine("a memo index"), at), at)); break;
            case (byte)'h': Push(Recall(_input.ReadInteger(1, signed: false), at)); break;
            case (byte)'j': Push(Recall(_input.ReadInteger(4, signed: false), at)); break;
            case (byte)'p': Remember(ParseIndex(_input.ReadLine("a memo index"), at), at); break;
            case (byte)'q': Remember(_input.ReadInteger(1, signed: false), at); break;
            case (byte)'r': Remember(_input.ReadInteger(4, signed: false), at); break;
            case 0x94: Remember(_memo.Count, at); break;
            default: return false;
        }
        return true;
    }

    /// <summary>Global names, calls, BUILD and persistent ids.</summary>
    private bool RunCall(byte op, long at)
    {
        switch (op)
        {
            case (byte)'c': Push(new PickleGlobal(Text(_input.ReadLine("a module name")), Text(_input.ReadLine("a global name")))); break;
            case 0x93:
            {
                var name = Pop(at) as string ?? throw Invalid(at, "STACK_GLOBAL without a string name");
                var module = Pop(at) as string ?? throw Invalid(at, "STACK_GLOBAL without a string module");
                Push(new PickleGlobal(module, name));
                break;
            }
            case (byte)'R' or 0x81:
            {
                var arguments = Pop(at) as PickleTuple ?? throw Invalid(at, op == 0x81 ? "NEWOBJ without an argument tuple" : "REDUCE without an argument tuple");
                Push(Call(Pop(at), arguments, at));
                break;
            }
            case 0x92:
            {
                Pop(at);   // keyword arguments: no call is made, so they only take part in the height
                var arguments = Pop(at) as PickleTuple ?? throw Invalid(at, "NEWOBJ_EX without an argument tuple");
                Push(Call(Pop(at), arguments, at));
                break;
            }
            case (byte)'i':
            {
                var callable = new PickleGlobal(Text(_input.ReadLine("a module name")), Text(_input.ReadLine("a class name")));
                Push(Call(callable, Tuple(PopMark(at).ToArray()), at));
                break;
            }
            case (byte)'o':
            {
                var items = PopMark(at);
                if (items.Count == 0) throw Invalid(at, "OBJ without a class");
                Push(Call(items[0], Tuple(items.Skip(1).ToArray()), at));
                break;
            }
            case (byte)'b':
            {
                var state = Pop(at);
                // Dicts and lists keep only their items; attributes (an OrderedDict's _metadata) are not needed.
                if (Top(at) is PickleObject target)
                {
                    target.State = state;
                    Grow(target, state, at);
                }
                break;
            }
            case (byte)'P': Push(Persistent(Text(_input.ReadLine("a persistent id")), at)); break;
            case (byte)'Q': Push(Persistent(Pop(at), at)); break;
            default: return false;
        }
        return true;
    }

    private object? Call(object? callable, PickleTuple arguments, long at)
    {
        if (_host is not null && _host.TryReduce(callable, arguments, out var result)) return result;
        if (TryBuiltin(callable, arguments, at, out var builtin)) return builtin;
        var built = new PickleObject(callable, arguments);
        Grow(built, callable, at);
        Grow(built, arguments, at);
        return built;
    }

    private object? Persistent(object? id, long at) =>
        _host is null ? throw Invalid(at, "a persistent id, which this file format does not use") : _host.PersistentLoad(id);

    private PickleTuple Tuple(object?[] items)
    {
        int height = 0;
        foreach (var item in items) height = Math.Max(height, HeightOf(item) + 1);
        if (height > _maxDepth) throw TooDeep();
        return new PickleTuple(items, height);
    }

    private void Append(PickleList list, object? item, long at)
    {
        list.Add(item);
        Grow(list, item, at);
    }

    private void Add(PickleSet set, object? item, long at)
    {
        if (item is null || !PickleKeyComparer.IsHashable(item)) throw Invalid(at, $"an unhashable set item ({PickleText.Describe(item)})");
        set.Add(item);
        Grow(set, item, at);
    }

    private void SetItems(PickleDict dict, List<object?> items, long at)
    {
        if (items.Count % 2 != 0) throw Invalid(at, "a dict item without a value");
        for (int i = 0; i < items.Count; i += 2)
        {
            var key = items[i] ?? PickleNoneKey.Instance;
            if (!PickleKeyComparer.IsHashable(key)) throw Invalid(at, $"an unhashable dict key ({PickleText.Describe(key)})");
            dict[key] = items[i + 1];
            Grow(dict, key, at);
            Grow(dict, items[i + 1], at);
        }
    }

    private PickleList ListOf(object? target, long at) => target switch
    {
        PickleList list => list,
        PickleObject o => o.ListItems ??= NewChild(o, new PickleList(), at),
        _ => throw Invalid(at, $"APPEND to {PickleText.Describe(target)}, which is not a list"),
    };

    private PickleDict DictOf(object? target, long at) => target switch
    {
        PickleDict dict => dict,
        PickleObject o => o.DictItems ??= NewChild(o, new PickleDict(), at),
        _ => throw Invalid(at, $"SETITEM on {PickleText.Describe(target)}, which is not a dict"),
    };

    private T NewChild<T>(PickleObject parent, T child, long at) where T : IPickleContainer
    {
        Grow(parent, child, at);
        return child;
    }

    /// <summary>Raises a container's height to hold <paramref name="child"/>, refusing a nesting deeper than the limit.</summary>
    private void Grow(IPickleContainer container, object? child, long at)
    {
        int height = HeightOf(child) + 1;
        if (height <= container.Height) return;
        if (height > _maxDepth) throw TooDeep();
        container.Height = height;
    }

    private PickleLimitException TooDeep() =>
        new(PickleLimit.Depth, _maxDepth, $"The pickle nests containers more than {_maxDepth} deep (at byte {_input.Position}).");

    private static int HeightOf(object? value) => value is IPickleContainer c ? c.Height : 0;

    private int MarkBase => _marks.Count == 0 ? 0 : _marks[^1];

    private void Push(object? value)
    {
        if (++_values > _maxValues)
            throw new PickleLimitException(PickleLimit.Values, _maxValues, $"The pickle makes more than {_maxValues} values (at byte {_input.Position}).");
        _stack.Add(value);
    }

    private object? Pop(long at)
    {
        if (_stack.Count <= MarkBase) throw Invalid(at, "an opcode that needs a value finds none (stack underflow)");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Top(long at) => _stack.Count > MarkBase ? _stack[^1] : throw Invalid(at, "an opcode that needs a value finds none (stack underflow)");

    private object?[] PopItems(int count, long at)
    {
        var items = new object?[count];
        for (int i = count - 1; i >= 0; i--) items[i] = Pop(at);
        return items;
    }

    private List<object?> PopMark(long at)
    {
        if (_marks.Count == 0) throw Invalid(at, "an opcode that needs a MARK finds none");
        int start = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private void Remember(long index, long at)
    {
        if (index < 0) throw Invalid(at, $"a negative memo index {index}");
        if (!_memo.ContainsKey(index) && ++_values > _maxValues)
            throw new PickleLimitException(PickleLimit.Values, _maxValues, $"The pickle makes more than {_maxValues} values (at byte {_input.Position}).");
        _memo[index] = Top(at);
    }

    private object? Recall(long index, long at) =>
        _memo.TryGetValue(index, out var value) ? value : throw Invalid(at, $"memo entry {index} is read before it is written");

    private static InvalidDataException Invalid(long at, string what) => new($"Corrupt pickle at byte {at}: {what}.");
}
