using System.CommandLine;
using System.Globalization;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// Range checks attached to options: the parser reports a value out of range as a usage error (exit code 2) before the
/// command does anything, in one line naming the option, the value and what is expected.
/// </summary>
public static class OptionRules
{
    /// <summary>Accepts only values for which <paramref name="accept"/> holds.</summary>
    /// <typeparam name="T">The option's type.</typeparam>
    /// <param name="option">The option.</param>
    /// <param name="accept">The rule.</param>
    /// <param name="expected">What is expected, for the message ("a positive whole number").</param>
    public static Option<T> Accepting<T>(this Option<T> option, Func<T, bool> accept, string expected)
    {
        ArgumentNullException.ThrowIfNull(option);
        ArgumentNullException.ThrowIfNull(accept);
        option.Validators.Add(result =>
        {
            if (result.Implicit) return;
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return;   // not a T at all: the parser reports that itself
            }
            string typed = result.Tokens.Count > 0 ? result.Tokens[^1].Value : Show(value);
            if (!accept(value)) result.AddError($"{option.Name} {typed}: expected {expected}.");
        });
        return option;
    }

    /// <summary>At least <paramref name="minimum"/>.</summary>
    /// <param name="option">The option.</param>
    /// <param name="minimum">The smallest accepted value.</param>
    /// <param name="what">What the value counts, for the message.</param>
    public static Option<int> AtLeast(this Option<int> option, int minimum, string what) =>
        option.Accepting(v => v >= minimum, $"{what}, at least {minimum}");

    /// <summary>At least <paramref name="minimum"/>.</summary>
    /// <param name="option">The option.</param>
    /// <param name="minimum">The smallest accepted value.</param>
    /// <param name="what">What the value counts, for the message.</param>
    public static Option<long> AtLeast(this Option<long> option, long minimum, string what) =>
        option.Accepting(v => v >= minimum, $"{what}, at least {minimum}");

    /// <summary>Between <paramref name="minimum"/> and <paramref name="maximum"/> (inclusive).</summary>
    /// <param name="option">The option.</param>
    /// <param name="minimum">The smallest accepted value.</param>
    /// <param name="maximum">The largest accepted value.</param>
    public static Option<int> Between(this Option<int> option, int minimum, int maximum) =>
        option.Accepting(v => v >= minimum && v <= maximum, $"a whole number from {minimum} to {maximum}");

    /// <summary>A finite number in the interval described by <paramref name="accept"/>.</summary>
    /// <param name="option">The option.</param>
    /// <param name="accept">The rule (the value is known to be finite).</param>
    /// <param name="expected">The interval, for the message ("a number in (0, 1]").</param>
    public static Option<double> Finite(this Option<double> option, Func<double, bool> accept, string expected) =>
        option.Accepting(v => double.IsFinite(v) && accept(v), expected);

    /// <summary>When given, a finite number in the interval described by <paramref name="accept"/>.</summary>
    /// <param name="option">The option.</param>
    /// <param name="accept">The rule (the value is known to be finite).</param>
    /// <param name="expected">The interval, for the message.</param>
    public static Option<double?> Finite(this Option<double?> option, Func<double, bool> accept, string expected) =>
        option.Accepting(v => v is not { } x || (double.IsFinite(x) && accept(x)), expected);

    /// <summary>
    /// Refuses a blank value (empty or only spaces) for every option of <paramref name="command"/> and its subcommands
    /// that takes text: no file name, folder, address or name is blank, and the checks after parsing would otherwise
    /// report it without naming the option.
    /// </summary>
    /// <param name="command">The root command, with its subcommands added.</param>
    public static void NoBlankValues(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        NoBlankValues(command, new HashSet<Option>());
    }

    private static void NoBlankValues(Command command, HashSet<Option> done)
    {
        foreach (var option in command.Options)
        {
            // Commands share option objects: one validator each.
            if ((option.ValueType != typeof(string) && option.ValueType != typeof(string[])) || !done.Add(option)) continue;
            option.Validators.Add(result =>
            {
                if (!result.Implicit && result.Tokens.FirstOrDefault(t => string.IsNullOrWhiteSpace(t.Value)) is { } blank)
                    result.AddError($"{option.Name} '{blank.Value}': expected a value, not a blank one.");
            });
        }
        foreach (var subcommand in command.Subcommands) NoBlankValues(subcommand, done);
    }

    private static string Show<T>(T value) => value switch
    {
        null => "(none)",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
