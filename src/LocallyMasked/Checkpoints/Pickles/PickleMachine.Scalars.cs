using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>The opcodes of single values: the protocol header, None, booleans, numbers, strings and bytes.</summary>
internal sealed partial class PickleMachine
{
    /// <summary>The longest integer read, in bytes (LONG1, LONG4) or decimal digits (INT, LONG): Python's ints are unbounded, a file's need not be.</summary>
    private const int MaxIntegerBytes = 256;

    private bool RunScalar(byte op, long at)
    {
        switch (op)
        {
            case 0x80:
                if (_input.ReadByte() is var protocol && protocol > 5) throw Invalid(at, $"pickle protocol {protocol} (0 to 5 are known)");
                break;
            case 0x95: _input.ReadInteger(8, signed: false); break;   // FRAME: a length that only helps buffering
            case (byte)'N': Push(null); break;
            case 0x88: Push(true); break;
            case 0x89: Push(false); break;
            case (byte)'I':
            {
                var line = Ascii(_input.ReadLine("an integer"));
                Push(line switch { "00" => false, "01" => true, _ => ParseInteger(line, at) });
                break;
            }
            case (byte)'J': Push(_input.ReadInteger(4, signed: true)); break;
            case (byte)'K': Push(_input.ReadInteger(1, signed: false)); break;
            case (byte)'M': Push(_input.ReadInteger(2, signed: false)); break;
            case (byte)'L': Push(ParseInteger(Ascii(_input.ReadLine("an integer")).TrimEnd('L'), at)); break;
            case 0x8a: Push(LittleEndianInteger(_input.ReadInteger(1, signed: false), at)); break;
            case 0x8b: Push(LittleEndianInteger(_input.ReadInteger(4, signed: true), at)); break;
            case (byte)'F':
            {
                var line = Ascii(_input.ReadLine("a float"));
                Push(double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
                    : line.Trim() switch { "inf" => double.PositiveInfinity, "-inf" => double.NegativeInfinity, "nan" => double.NaN, _ => throw Invalid(at, "a malformed FLOAT") });
                break;
            }
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(_input.ReadBytes(8, "a float"))); break;
            case (byte)'S': Push(Latin1(Unescape(Unquote(_input.ReadLine("a string"), at)))); break;
            case (byte)'T': Push(Latin1(_input.ReadBytes(_input.ReadInteger(4, signed: true), "a string"))); break;
            case (byte)'U': Push(Latin1(_input.ReadBytes(_input.ReadInteger(1, signed: false), "a string"))); break;
            case (byte)'V': Push(RawUnicodeEscape(_input.ReadLine("a string"))); break;
            case (byte)'X': Push(Text(_input.ReadBytes(_input.ReadInteger(4, signed: false), "a string"))); break;
            case 0x8c: Push(Text(_input.ReadBytes(_input.ReadInteger(1, signed: false), "a string"))); break;
            case 0x8d: Push(Text(_input.ReadBytes(_input.ReadInteger(8, signed: false), "a string"))); break;
            case (byte)'B': Push(_input.ReadBytes(_input.ReadInteger(4, signed: false), "bytes")); break;
            case (byte)'C': Push(_input.ReadBytes(_input.ReadInteger(1, signed: false), "bytes")); break;
            case 0x8e or 0x96: Push(_input.ReadBytes(_input.ReadInteger(8, signed: false), "bytes")); break;
            default: return false;
        }
        return true;
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    private static string Ascii(byte[] bytes) => Encoding.ASCII.GetString(bytes).Trim();

    private static long ParseIndex(byte[] line, long at) =>
        long.TryParse(Ascii(line), NumberStyles.Integer, CultureInfo.InvariantCulture, out var index) ? index : throw Invalid(at, "a malformed memo index");

    private static object ParseInteger(string text, long at)
    {
        if (text.Length > MaxIntegerBytes) throw Invalid(at, $"an integer of {text.Length} digits (at most {MaxIntegerBytes} are read)");
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var small)) return small;
        return BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big) ? big : throw Invalid(at, "a malformed integer");
    }

    private object LittleEndianInteger(long length, long at)
    {
        if (length < 0 || length > MaxIntegerBytes) throw Invalid(at, $"an integer of {length} bytes (at most {MaxIntegerBytes} are read)");
        var value = new BigInteger(_input.ReadBytes(length, "an integer"), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private static byte[] Unquote(byte[] line, long at) =>
        line.Length >= 2 && line[0] == line[^1] && line[0] is (byte)'\'' or (byte)'"' ? line[1..^1] : throw Invalid(at, "a STRING argument without quotes");

    /// <summary>Python's <c>codecs.escape_decode</c>: backslash escapes of a byte string.</summary>
    private static byte[] Unescape(byte[] text)
    {
        var result = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != (byte)'\\' || i + 1 >= text.Length)
            {
                result.Add(text[i]);
                continue;
            }
            byte c = text[++i];
            switch (c)
            {
                case (byte)'n': result.Add((byte)'\n'); break;
                case (byte)'t': result.Add((byte)'\t'); break;
                case (byte)'r': result.Add((byte)'\r'); break;
                case (byte)'x' when i + 2 < text.Length && IsHex(text[i + 1]) && IsHex(text[i + 2]):
                    result.Add(Convert.ToByte(Encoding.ASCII.GetString(text, i + 1, 2), 16));
                    i += 2;
                    break;
                case (byte)'\\' or (byte)'\'' or (byte)'"': result.Add(c); break;
                default:
                    result.Add((byte)'\\');
                    result.Add(c);
                    break;
            }
        }
        return result.ToArray();
    }

    /// <summary>Python's raw-unicode-escape codec: <c>\uXXXX</c> and <c>\UXXXXXXXX</c>, everything else Latin-1.</summary>
    private static string RawUnicodeEscape(byte[] text)
    {
        var result = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int digits = i + 1 < text.Length && text[i] == (byte)'\\' ? text[i + 1] switch { (byte)'u' => 4, (byte)'U' => 8, _ => 0 } : 0;
            if (digits > 0 && i + 1 + digits < text.Length && Enumerable.Range(i + 2, digits).All(j => IsHex(text[j]))
                && int.TryParse(Encoding.ASCII.GetString(text, i + 2, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code)
                && code is >= 0 and <= 0x10FFFF)
            {
                result.Append(char.ConvertFromUtf32(code is >= 0xD800 and <= 0xDFFF ? 0xFFFD : code));
                i += 1 + digits;
                continue;
            }
            result.Append((char)text[i]);
        }
        return result.ToString();
    }

    private static bool IsHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';
}
