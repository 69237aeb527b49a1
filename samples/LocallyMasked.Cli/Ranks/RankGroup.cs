using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Cli.Ranks;

/// <summary>
/// The processes that share a command's images: this process alone, or the ranks of an MPI job when the program was
/// started by an MPI launcher (<c>mpiexec -n N lmconv evaluate ...</c>; <see cref="MpiLaunch.FromEnvironment"/>, so MPI is
/// loaded only then). Rank r takes part r of N of the images (<see cref="Shard"/>); the ranks' results are gathered in
/// rank order, every value unchanged, so that what rank 0 prints and writes equals one process's result; rank 0 alone
/// prints and writes files, the others print nothing but errors.
/// </summary>
public sealed class RankGroup : IDisposable
{
    // How long a rank with no images of its own waits for the others at the end: it cannot estimate their time.
    private static readonly TimeSpan IdleRankWait = TimeSpan.FromHours(24);

    private readonly MpiCommunicator? world;
    private readonly SettingsMismatchException? mismatch;

    private RankGroup(MpiCommunicator? world, SettingsMismatchException? mismatch)
    {
        this.world = world;
        this.mismatch = mismatch;
    }

    /// <summary>
    /// Joins the MPI job this process was started in, checking that every rank was started with the same command line;
    /// a process that no MPI launcher started is a group of one, without MPI.
    /// </summary>
    /// <param name="timeout">How long each collective waits for the other ranks; null: <see cref="MpiCommunicator.DefaultTimeout"/>.</param>
    /// <exception cref="MpiUnavailableException">Started by a launcher, but MPI cannot be used (Open MPI's launcher, no
    /// MPICH-family library): one line saying what to install.</exception>
    public static RankGroup Join(TimeSpan? timeout = null)
    {
        var launch = MpiLaunch.FromEnvironment();
        if (!launch.IsLaunched) return new RankGroup(null, null);
        var world = MpiCommunicator.Initialize(launch, timeout);
        try
        {
            // Every rank's command line must be rank 0's: ranks of different settings would compute parts of different work.
            SettingsAgreement.Require(world, string.Join("\0", Environment.GetCommandLineArgs().Skip(1)));
            return new RankGroup(world, null);
        }
        catch (SettingsMismatchException e)
        {
            // Every rank knows: they stop together (Run reports it once, on rank 0, and Dispose finalizes).
            return new RankGroup(world, e);
        }
    }

    /// <summary>This process's rank (0 without MPI).</summary>
    public int Rank => world?.Rank ?? 0;

    /// <summary>Number of processes (1 without MPI).</summary>
    public int Size => world?.Size ?? 1;

    /// <summary>Whether this process prints and writes files: rank 0, or the process alone.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>Whether the program runs as several MPI ranks.</summary>
    public bool IsDistributed => Size > 1;

    /// <summary>This rank's index among the ranks of its machine (0 without MPI).</summary>
    public int LocalRank => world?.LocalRank ?? 0;

    /// <summary>Ranks on this machine (1 without MPI).</summary>
    public int LocalSize => world?.LocalSize ?? 1;

    /// <summary>The ranks' communicator: null without MPI, and when the ranks were started with other command lines (they only stop).</summary>
    internal MpiCommunicator? Communicator => mismatch is null ? world : null;

    /// <summary>This rank's part of the images: part <see cref="Rank"/> of <see cref="Size"/>.</summary>
    public Shard Shard => new(Rank, Size);

    /// <summary>
    /// Runs a command's work: with <paramref name="terminal"/> on rank 0, a muted one on the others. On a rank of an MPI
    /// job an error is printed as the program's one line, prefixed with the rank, and ends every rank (MPI_Abort with its
    /// exit code), so that no rank waits for one that stopped.
    /// </summary>
    /// <param name="terminal">The command's terminal.</param>
    /// <param name="work">The work; returns the exit code.</param>
    public int Run(Terminal terminal, Func<Terminal, int> work)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(work);
        if (world is null) return work(terminal);
        if (mismatch is not null) return IsRoot ? CliApp.Report(mismatch, verbose: false, terminal.Error) : ExitCodes.BadInput;
        try
        {
            return work(IsRoot ? terminal : Terminal.Muted);
        }
        catch (Exception e)
        {
            using var line = new StringWriter();
            int code = CliApp.Report(e, verbose: false, line);
            foreach (var text in line.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
                terminal.Error.WriteLine(IsDistributed && text.StartsWith("lmconv: ", StringComparison.Ordinal)
                    ? $"lmconv: rank {Rank} of {Size}: {text["lmconv: ".Length..]}"
                    : text);
            terminal.Error.Flush();
            world.Abort(code);
            throw;   // not reached: Abort ends the process
        }
    }

    /// <summary>
    /// How long this rank waits for the others once its own part is done: ranks finish at different times (their parts
    /// differ by up to a batch, machines differ), so the collective's usual timeout is stretched to twice the time the
    /// largest part should take at this rank's pace, plus that timeout; a rank without images waits up to a day.
    /// </summary>
    /// <param name="ownWork">The time this rank spent on its part.</param>
    /// <param name="ownImages">Images in this rank's part.</param>
    /// <param name="mostImages">Images in the largest part.</param>
    public TimeSpan WaitForOthers(TimeSpan ownWork, int ownImages, int mostImages)
    {
        var timeout = world?.Timeout ?? MpiCommunicator.DefaultTimeout;
        if (ownImages <= 0) return IdleRankWait;
        return timeout + ownWork * (2.0 * Math.Max(mostImages, ownImages) / ownImages);
    }

    /// <summary>Every rank's values concatenated in rank order, bit for bit (this process's own without MPI).</summary>
    /// <param name="values">This rank's values.</param>
    /// <param name="wait">How long to wait for the other ranks.</param>
    public double[] Gather(ReadOnlySpan<double> values, TimeSpan wait) => world is null ? values.ToArray() : world.AllgatherConcatenated(values, wait);

    /// <inheritdoc cref="Gather(ReadOnlySpan{double}, TimeSpan)"/>
    public float[] Gather(ReadOnlySpan<float> values, TimeSpan wait) => world is null ? values.ToArray() : world.AllgatherConcatenated(values, wait);

    /// <summary>Every rank's number, in rank order.</summary>
    /// <param name="value">This rank's number.</param>
    /// <param name="wait">How long to wait for the other ranks.</param>
    public int[] Gather(int value, TimeSpan wait) => world is null ? new[] { value } : world.Allgather(value, wait);

    /// <summary>Finalizes MPI after a barrier (every rank), or does nothing without MPI.</summary>
    public void Dispose() => world?.Dispose();
}
