using System.Runtime.InteropServices;

namespace LocallyMasked.Cli;

/// <summary>
/// Turns the first Ctrl+C (SIGINT) or SIGTERM into a cancellation, so that a command finishes its current step, saves
/// what it has done and exits with 130 or 143; a second signal ends the process at once (<see cref="Environment.Exit"/>,
/// so that <see cref="AppDomain.ProcessExit"/> handlers such as <see cref="OutputLock"/>'s run), except while a write is
/// <see cref="Protect">protected</see> (a checkpoint being saved): then the write is finished and the process ends right
/// after it, so that no temporary file is abandoned. System.CommandLine handles no signals for synchronous actions.
/// </summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly List<PosixSignalRegistration> registrations = new();
    private readonly TextWriter error;
    private readonly string action;
    private int signals, protections, stopAfterProtection;
    private volatile string protecting = "the write in progress";

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    /// <param name="terminal">Where to say what happens.</param>
    /// <param name="action">What the command does when stopped ("stopping after this step and saving a checkpoint").</param>
    public Interrupts(Terminal terminal, string action) : this((terminal ?? throw new ArgumentNullException(nameof(terminal))).Error, action)
    {
    }

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    /// <param name="error">Where to say what happens (standard error).</param>
    /// <param name="action">What the command does when stopped.</param>
    public Interrupts(TextWriter error, string action)
    {
        this.error = error ?? throw new ArgumentNullException(nameof(error));
        this.action = action;
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            try
            {
                registrations.Add(PosixSignalRegistration.Create(signal, Handle));
            }
            catch (PlatformNotSupportedException)
            {
                // Signals are not available here: the default handling (end at once) stays.
            }
        }
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The exit code the signal asks for (130 for SIGINT, 143 for SIGTERM), or null when none came.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>
    /// Runs on the signal thread when a second signal ends the process at once, before it ends (a download deletes its
    /// temporary files there). Null: nothing.
    /// </summary>
    public Action? BeforeForcedExit { get; set; }

    /// <summary>
    /// Protects a write until the returned handle is disposed: a second signal meanwhile lets it finish, and the process
    /// ends (with the first signal's exit code) as soon as the last protection is released.
    /// </summary>
    /// <param name="what">What is being written, for the message ("the checkpoint").</param>
    public IDisposable Protect(string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(what);
        protecting = what;
        Interlocked.Increment(ref protections);
        return new Protection(this);
    }

    private void Handle(PosixSignalContext context)
    {
        string name = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "Ctrl+C";
        if (Interlocked.Increment(ref signals) > 1)
        {
            if (Volatile.Read(ref protections) > 0)
            {
                context.Cancel = true;
                if (Interlocked.Exchange(ref stopAfterProtection, 1) == 0)
                    error.WriteLine($"lmconv: {name} again: finishing {protecting}, then stopping.");
                return;
            }
            context.Cancel = true;
            BeforeForcedExit?.Invoke();
            error.Flush();
            Environment.Exit(ExitCode ?? ExitCodes.Interrupted);
            return;
        }
        context.Cancel = true;
        ExitCode = context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;
        error.WriteLine($"lmconv: {name}: {action}; press Ctrl+C again to stop at once.");
        source.Cancel();
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref protections) == 0 && Volatile.Read(ref stopAfterProtection) == 1)
        {
            error.Flush();
            Environment.Exit(ExitCode ?? ExitCodes.Interrupted);
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        foreach (var registration in registrations) registration.Dispose();
        source.Dispose();
    }

    private sealed class Protection(Interrupts owner) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) owner.Release();
        }
    }
}
