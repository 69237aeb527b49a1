using System.Globalization;
using System.Numerics;
using System.Text;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>
/// Unpickled values in words for one-line messages, bounded whatever the value: a few levels deep, a few items per
/// container, strings shortened and their control characters escaped, so that a value that contains itself or nests
/// thousands deep prints in a line.
/// </summary>
internal static class PickleText
{
    private const int MaxLevels = 3;
    private const int MaxItems = 6;
    private const int MaxStringLength = 60;
    private const int MaxLength = 200;

    /// <summary>The value as Python would print it, shortened.</summary>
    /// <param name="value">Any unpickled value.</param>
    public static string Describe(object? value)
    {
        var text = new StringBuilder();
        Append(text, value, MaxLevels);
        return text.Length <= MaxLength ? text.ToString() : text.ToString(0, MaxLength) + "...";
    }

    /// <summary>A string for a message: shortened, with control characters (a newline would end the line) escaped.</summary>
    /// <param name="text">Any text.</param>
    public static string Quote(string text)
    {
        var result = new StringBuilder("'");
        foreach (char c in text.Length > MaxStringLength ? text[..MaxStringLength] : text)
            result.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        return result.Append(text.Length > MaxStringLength ? "...'" : "'").ToString();
    }

    private static void Append(StringBuilder text, object? value, int levels)
    {
        if (text.Length > MaxLength) return;
        switch (value)
        {
            case null or PickleNoneKey: text.Append("None"); break;
            case bool b: text.Append(b ? "True" : "False"); break;
            case double d: text.Append(d.ToString("R", CultureInfo.InvariantCulture)); break;
            case BigInteger i: text.Append(i.GetBitLength() > 64 ? $"an integer of {i.GetBitLength()} bits" : i.ToString(CultureInfo.InvariantCulture)); break;
            case IFormattable f: text.Append(f.ToString(null, CultureInfo.InvariantCulture)); break;
            case string s: text.Append(Quote(s)); break;
            case byte[] bytes: text.Append($"bytes of length {bytes.Length}"); break;
            case PickleGlobal g: text.Append(Quote(g.ToString()).Trim('\'')); break;
            case PickleList list: Items(text, "[", list, "]", levels); break;
            case PickleTuple tuple: Items(text, "(", tuple, tuple.Count == 1 ? ",)" : ")", levels); break;
            case PickleSet set: Items(text, "{", set.Cast<object?>(), "}", levels); break;
            case PickleDict dict:
                if (levels == 0)
                {
                    text.Append("{...}");
                    break;
                }
                text.Append('{');
                int n = 0;
                foreach (var (key, item) in dict)
                {
                    if (n++ == MaxItems)
                    {
                        text.Append(", ...");
                        break;
                    }
                    if (n > 1) text.Append(", ");
                    Append(text, key, levels - 1);
                    text.Append(": ");
                    Append(text, item, levels - 1);
                }
                text.Append('}');
                break;
            case PickleObject o:
                Append(text, o.Callable, 0);
                Items(text, "(", o.Arguments, ")", levels);
                break;
            default: text.Append(Quote(value.ToString() ?? value.GetType().Name).Trim('\'')); break;
        }
    }

    private static void Items(StringBuilder text, string open, IEnumerable<object?> items, string close, int levels)
    {
        if (levels == 0)
        {
            text.Append(open).Append("...").Append(close);
            return;
        }
        text.Append(open);
        int n = 0;
        foreach (var item in items)
        {
            if (n++ == MaxItems || text.Length > MaxLength)
            {
                text.Append(", ...");
                break;
            }
            if (n > 1) text.Append(", ");
            Append(text, item, levels - 1);
        }
        text.Append(close);
    }
}
