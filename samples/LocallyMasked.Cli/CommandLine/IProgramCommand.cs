using System.CommandLine;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>A command of the program, whatever its settings type (<see cref="ProgramCommand{TSettings}"/>).</summary>
public interface IProgramCommand
{
    /// <summary>The System.CommandLine definition.</summary>
    Command Command { get; }

    /// <summary>The command's typed settings from a parse result of its command line, without running it.</summary>
    /// <param name="result">The parse result.</param>
    /// <exception cref="InputError">A value the parser accepts but the command cannot use (named).</exception>
    object Bind(ParseResult result);
}
