namespace LocallyMasked.Cli.Tests.Hostile;

/// <summary>
/// One row of the program's hostile-input suite: what to make in a fresh folder and which command line to run there
/// (<see cref="Arrange"/>), and how the run must end: <see cref="ExitCode"/>, with <see cref="Fragment"/> in the
/// error line (or, for a run that succeeds, anywhere in what it prints). <see cref="ProgramCaseRunner"/> runs it as a
/// child process under a time and memory bound and checks that it leaves nothing behind. To add a case, add a row to a
/// table of <see cref="HostileProgramSuite"/>.
/// </summary>
/// <param name="Name">What the case is, in words (the test's display name).</param>
/// <param name="Arrange">Makes the input in the case's folder (the run's working folder) and returns the run.</param>
/// <param name="ExitCode">The exit code expected.</param>
/// <param name="Fragment">Text the error line must contain (every fragment, when separated by '|').</param>
internal sealed record ProgramCase(string Name, Func<string, ProgramRun> Arrange, int ExitCode, string Fragment)
{
    /// <summary>The fragments <see cref="Fragment"/> lists.</summary>
    public IEnumerable<string> Fragments => Fragment.Split('|');

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A run of the program in a case's folder.</summary>
/// <param name="Args">The arguments.</param>
internal sealed record ProgramRun(params string[] Args)
{
    /// <summary>
    /// Paths (relative to the case's folder, '/'-separated) the run may leave: a successful run's outputs; a path ending
    /// in '/' allows the folder and everything in it. Everything else must be as it was before the run, temporary files
    /// included (the run's TMPDIR is inside the case's folder).
    /// </summary>
    public IReadOnlyList<string> Leaves { get; init; } = Array.Empty<string>();

    /// <summary>What to do while the program runs (send it signals when it reaches a point); null: nothing.</summary>
    public Action<RunningProgram>? During { get; init; }

    /// <summary>More checks once the run has ended and passed the common ones; null: none.</summary>
    public Action? Then { get; init; }

    /// <summary>Called once the run has ended and been checked (stops what <see cref="ProgramCase.Arrange"/> started).</summary>
    public Action? After { get; init; }

    /// <summary>Lines allowed on standard error when the run fails: 1 for a refusal; a signal's notice adds one.</summary>
    public int ErrorLines { get; init; } = 1;
}
