using System.CommandLine;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// A command of the program: its System.CommandLine definition, the one place where a parse result becomes the
/// command's typed settings, and the work it does with them. Invoking the command binds, then runs.
/// </summary>
/// <typeparam name="TSettings">The command's settings.</typeparam>
public sealed class ProgramCommand<TSettings> : IProgramCommand where TSettings : notnull
{
    private readonly Func<ParseResult, TSettings> bind;

    /// <summary>Makes the command and sets its action.</summary>
    /// <param name="command">The definition (name, description, options).</param>
    /// <param name="bind">Builds the settings from a parse result, naming any bad value (<see cref="InputError"/>).</param>
    /// <param name="run">Does the work; returns the exit code.</param>
    /// <param name="terminal">Where the command writes.</param>
    public ProgramCommand(Command command, Func<ParseResult, TSettings> bind, Func<TSettings, Terminal, int> run, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(terminal);
        this.bind = bind ?? throw new ArgumentNullException(nameof(bind));
        Command = command;
        command.SetAction(result => run(bind(result), terminal));
    }

    /// <inheritdoc />
    public Command Command { get; }

    /// <inheritdoc />
    public object Bind(ParseResult result) => bind(result);
}
