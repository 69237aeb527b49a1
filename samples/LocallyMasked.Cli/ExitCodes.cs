namespace LocallyMasked.Cli;

/// <summary>The program's exit codes (documented in docs/program.md).</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>Bad input: an option value out of range or in conflict with another, a missing or corrupt file, data that does not fit the model, a run that would train nothing.</summary>
    public const int BadInput = 1;

    /// <summary>The command line cannot be parsed: unknown command or option, a missing or malformed value, a value not among the accepted ones.</summary>
    public const int Usage = 2;

    /// <summary>Training stopped because the loss or the gradient became NaN or infinite (the last good checkpoint is kept).</summary>
    public const int Diverged = 3;

    /// <summary>A bug in the program or the libraries (the message comes with a stack trace).</summary>
    public const int InternalError = 70;

    /// <summary>Stopped by Ctrl+C (SIGINT), after saving what was done.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM, after saving what was done.</summary>
    public const int Terminated = 143;
}
