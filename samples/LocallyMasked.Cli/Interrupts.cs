using System.Runtime.InteropServices;

namespace LocallyMasked.Cli;

/// <summary>
/// Turns the first Ctrl+C (SIGINT) or SIGTERM into a cancellation, so that a command finishes its current step, saves
/// what it has done and exits with 130 or 143; a second signal ends the process at once (atomic writes keep the last
/// saved files whole). System.CommandLine handles no signals for synchronous actions.
/// </summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly List<PosixSignalRegistration> registrations = new();
    private readonly Terminal terminal;
    private readonly string action;
    private int signals;

    /// <summary>Starts listening for SIGINT and SIGTERM.</summary>
    /// <param name="terminal">Where to say what happens.</param>
    /// <param name="action">What the command does when stopped ("stopping after this step and saving a checkpoint").</param>
    public Interrupts(Terminal terminal, string action)
    {
        this.terminal = terminal ?? throw new ArgumentNullException(nameof(terminal));
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

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref signals) > 1) return;   // the second one: default handling, the process ends
        context.Cancel = true;
        ExitCode = context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;
        terminal.Error.WriteLine($"lmconv: {(context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "Ctrl+C")}: {action}; press Ctrl+C again to stop at once.");
        source.Cancel();
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        foreach (var registration in registrations) registration.Dispose();
        source.Dispose();
    }
}
