namespace LocallyMasked.Cli;

/// <summary>
/// Work cancelled by Ctrl+C (SIGINT) or SIGTERM after cleaning up what it had started: the program prints its message
/// as one line and exits with <see cref="ExitCode"/> (130 or 143).
/// </summary>
public sealed class StoppedBySignalException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exitCode">130 (SIGINT) or 143 (SIGTERM).</param>
    /// <param name="message">What was stopped and what was left, one sentence.</param>
    public StoppedBySignalException(int exitCode, string message) : base(message) => ExitCode = exitCode;

    /// <summary>The exit code the signal asks for.</summary>
    public int ExitCode { get; }
}
