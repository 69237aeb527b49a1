namespace LocallyMasked.Cli;

/// <summary>
/// A user error found by the program (an option, a file, the data or a configuration): printed as one line naming the
/// option or file and what to do, with exit code <see cref="ExitCodes.BadInput"/>.
/// </summary>
public sealed class InputError : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="message">One sentence naming the option or file and what to do.</param>
    public InputError(string message) : base(message)
    {
    }

    /// <summary>Creates the error with the failure behind it (shown with --verbose).</summary>
    /// <param name="message">One sentence naming the option or file and what to do.</param>
    /// <param name="innerException">The underlying failure.</param>
    public InputError(string message, Exception innerException) : base(message, innerException)
    {
    }
}
