namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// A command line that does not parse (unknown command or option, a missing or malformed value, a value out of range):
/// one line naming the option, with exit code <see cref="ExitCodes.Usage"/>.
/// </summary>
public sealed class UsageError : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="message">The line to print, after "lmconv: ".</param>
    public UsageError(string message) : base(message)
    {
    }
}
