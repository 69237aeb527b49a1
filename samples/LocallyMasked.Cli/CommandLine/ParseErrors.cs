using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>The parser's errors as the program's one usage line.</summary>
public static class ParseErrors
{
    /// <summary>
    /// The errors of <paramref name="result"/> in one line that names the option and points to the command's help, e.g.
    /// "--steps 0: expected a number of steps, at least 1. (see 'lmconv train --help')".
    /// </summary>
    /// <param name="result">A parse result with errors.</param>
    public static string Describe(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var messages = result.Errors.Select(Describe).Distinct().ToList();
        // A misspelt command gives "Required command was not provided." and "Unrecognized command or argument 'x'.":
        // the second one says what is wrong.
        var unrecognized = messages.Where(m => m.StartsWith("Unrecognized", StringComparison.Ordinal)).ToList();
        if (unrecognized.Count > 0) messages = unrecognized;
        return $"{string.Join(" ", messages.Take(3))} (see 'lmconv{CommandPath(result)} --help')";
    }

    /// <summary>A parse error on one line, naming its option when the parser's message does not.</summary>
    private static string Describe(ParseError error)
    {
        string message = string.Join(" ", error.Message.Split(new[] { '\r', '\n', '\t' }, StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()));
        var option = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        message = TypeNames.Replace(message, m => $"as {Kind(m.Groups[1].Value)}");
        return option is not null && !message.Contains(option.Name, StringComparison.Ordinal) ? $"{option.Name}: {message}" : message;
    }

    private static readonly Regex TypeNames = new(@"as expected type '([^']+)'", RegexOptions.CultureInvariant);

    /// <summary>What a .NET type name means to a user: "System.Nullable`1[System.Int32]" is "a whole number".</summary>
    private static string Kind(string type) => type switch
    {
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => "the expected kind of value",
    };

    private static string CommandPath(ParseResult result)
    {
        var names = new List<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as CommandResult)
            if (command.Command is not RootCommand) names.Insert(0, command.Command.Name);
        return names.Count == 0 ? "" : " " + string.Join(" ", names);
    }
}
