using System.CommandLine;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>What the user typed, as the commands' binders ask it of a parse result.</summary>
public static class ParseResults
{
    /// <summary>Whether the user typed <paramref name="option"/> (rather than leaving its default, or the command not having it).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="option">The option.</param>
    public static bool Given(this ParseResult result, Option option)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetResult(option) is { Implicit: false };
    }

    /// <summary>The value of <paramref name="option"/> when the user typed it, else null.</summary>
    /// <typeparam name="T">The option's value type.</typeparam>
    /// <param name="result">The parse result.</param>
    /// <param name="option">The option.</param>
    public static T? IfGiven<T>(this ParseResult result, Option<T> option) where T : struct =>
        result.Given(option) ? result.GetValue(option) : null;

    /// <summary>Refuses options that the user typed and the run cannot use, naming them and why.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="options">The options that cannot be used.</param>
    /// <param name="why">Why, completing "cannot be used ..." ("with --resume: the checkpoint's settings are used").</param>
    /// <exception cref="InputError">One of the options was typed.</exception>
    public static void Refuse(this ParseResult result, IEnumerable<Option> options, string why)
    {
        ArgumentNullException.ThrowIfNull(options);
        var given = options.Where(result.Given).Select(o => o.Name).ToList();
        if (given.Count > 0) throw new InputError($"{string.Join(", ", given)}: cannot be used {why}.");
    }
}
