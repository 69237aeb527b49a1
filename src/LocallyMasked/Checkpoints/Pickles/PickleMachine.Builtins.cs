using System.Text;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// The calls of Python's own types that pickles use to rebuild plain values, given their value instead of an inert
/// <see cref="PickleObject"/>: <c>collections.OrderedDict()</c> (a state dict), bytes and bytearrays as protocols 0 to 2
/// write them (<c>_codecs.encode(text, 'latin1')</c>, <c>bytes()</c>, <c>bytearray(...)</c>), sets and frozensets as
/// protocols 0 to 3 write them (<c>set([...])</c>), and <c>copyreg._reconstructor(cls, object, None)</c>, the object of
/// class <c>cls</c> that protocols 0 and 1 write (kept as an object of that class).
/// </summary>
internal sealed partial class PickleMachine
{
    private bool TryBuiltin(object? callable, PickleTuple arguments, long at, out object? value)
    {
        value = null;
        if (callable is not PickleGlobal { Module: var module, Name: var name }) return false;
        bool builtins = module is "builtins" or "__builtin__";
        switch (name)
        {
            case "OrderedDict" when module == "collections" && arguments.Count == 0:
                value = new PickleDict();
                return true;
            case "encode" when module == "_codecs" && arguments.Count == 2 && arguments[0] is string text
                                                   && arguments[1] is "latin1" or "latin-1" or "iso-8859-1":
                value = Encoding.Latin1.GetBytes(text);
                return true;
            case "bytes" or "bytearray" when builtins && arguments.Count == 0:
                value = Array.Empty<byte>();
                return true;
            case "bytearray" when builtins && arguments.Count >= 1 && arguments[0] is byte[] bytes:
                value = bytes;
                return true;
            case "bytearray" when builtins && arguments.Count == 2 && arguments[0] is string text && arguments[1] is "latin1" or "latin-1":
                value = Encoding.Latin1.GetBytes(text);
                return true;
            case "set" or "frozenset" when builtins && arguments.Count <= 1:
                var set = new PickleSet();
                if (arguments.Count == 1)
                {
                    if (arguments[0] is not (PickleList or PickleTuple)) return false;
                    foreach (var item in (IEnumerable<object?>)arguments[0]!) Add(set, item, at);
                }
                value = set;
                return true;
            case "_reconstructor" when module is "copyreg" or "copy_reg" && arguments.Count >= 1:
                var built = new PickleObject(arguments[0], PickleTuple.Empty);
                Grow(built, arguments[0], at);
                value = built;
                return true;
            default:
                return false;
        }
    }
}
