using System.Globalization;
using System.Text;

namespace LocallyMasked.Cli;

/// <summary>
/// Text that must stay on one line (an error message, a warning): control characters in it, which come from file names
/// and option values, are shown as escapes instead of ending the line or driving the terminal. A newline becomes \n, a
/// carriage return \r, a tab \t, escape \e, other controls \xNN or \uNNNN; everything else is kept.
/// </summary>
public static class OneLineText
{
    /// <summary>Escapes the control characters of <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            if (!NeedsEscape(c)) escaped.Append(c);
            else escaped.Append(c switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                '\u001b' => @"\e",
                < '\u0100' => @"\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture),
                _ => @"\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
            });
        }
        return escaped.ToString();
    }

    /// <summary>C0 and C1 controls, DEL, and the Unicode line and paragraph separators.</summary>
    private static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
