using System.Globalization;
using LocallyMasked.Training;
using LocallyMasked.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Ranks;

/// <summary>
/// The processes of a <c>train</c> run: the <see cref="RankGroup"/> of the program's other commands (this process alone,
/// or the ranks of an MPI job, their command lines checked to agree; rank 0 alone prints and writes files, an error on any
/// rank is one line naming it and ends every rank) with what training adds: the ranks train one model in data parallel
/// (<see cref="MpiDataParallelGroup"/>), each on the GPU of its local rank, with its share of the machine's cores, and
/// agree on why they stopped.
/// </summary>
public sealed class TrainingRanks : IDisposable
{
    /// <summary>
    /// How long the ranks wait for rank 0 where rank 0 works alone: its download of the data (<c>--download</c>), its
    /// samples at the end. A rank that dies there ends the job through the launcher (MPICH's <c>mpiexec</c> stops every
    /// rank when one fails); the wait only bounds a rank 0 that hangs.
    /// </summary>
    public static readonly TimeSpan RankZeroWait = TimeSpan.FromHours(24);

    private readonly RankGroup ranks;
    private readonly MpiCommunicator? world;
    private readonly MpiDataParallelGroup? group;
    private string? sharedCheckpoint;

    private TrainingRanks(RankGroup ranks)
    {
        this.ranks = ranks;
        world = ranks.Communicator;
        group = world is null ? null : new MpiDataParallelGroup(world);
    }

    /// <summary>The processes that train together: null when this process trains alone.</summary>
    public IDataParallelGroup? Group => group;

    /// <summary>Whether the run has several ranks.</summary>
    public bool IsDistributed => ranks.IsDistributed;

    /// <summary>This process's rank (0 alone).</summary>
    public int Rank => ranks.Rank;

    /// <summary>Number of ranks (1 alone).</summary>
    public int Size => ranks.Size;

    /// <summary>Whether this process prints and writes files: rank 0, or the process alone.</summary>
    public bool IsRoot => ranks.IsRoot;

    /// <summary>This rank's index among the ranks of its machine (its GPU with <c>--device cuda</c>).</summary>
    public int LocalRank => ranks.LocalRank;

    /// <summary>Ranks on this machine.</summary>
    public int LocalSize => ranks.LocalSize;

    /// <summary>Machines the ranks run on (counted as <see cref="Run"/> starts; 1 alone).</summary>
    public int Machines { get; private set; } = 1;

    /// <summary>
    /// Joins the MPI job this process was started in (<see cref="RankGroup.Join"/>: every rank's command line must be rank
    /// 0's, since ranks of other settings would add gradients of other models), or returns a group of one without MPI when
    /// no launcher started it.
    /// </summary>
    /// <param name="timeout">How long each collective waits for the other ranks (--mpi-timeout).</param>
    /// <exception cref="MpiUnavailableException">Started by a launcher, but MPI cannot be used: Open MPI, no MPICH-family library (one line).</exception>
    public static TrainingRanks Join(TimeSpan timeout) => new(RankGroup.Join(timeout));

    /// <summary>
    /// Runs the command's work (<see cref="RankGroup.Run"/>: with <paramref name="terminal"/> on rank 0, a muted one on the
    /// others; ranks started with other command lines stop before it, the line printed once, by rank 0); then every rank
    /// waits for the others (rank 0 may still be drawing samples). A rank lost or too slow at a collective is one line
    /// that names the option setting the wait.
    /// </summary>
    /// <param name="terminal">The command's terminal.</param>
    /// <param name="work">The work; returns the exit code.</param>
    public int Run(Terminal terminal, Func<Terminal, int> work)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(work);
        return ranks.Run(terminal, rankTerminal =>
        {
            if (world is null) return work(rankTerminal);
            try
            {
                Machines = world.Allgather(world.LocalRank == 0 ? 1 : 0).Sum();
                int code = work(rankTerminal);
                world.Barrier(RankZeroWait);
                return code;
            }
            catch (MpiException e) when (e is MpiTimeoutException or MpiRankLostException)
            {
                throw new InputError($"{CliApp.OneLine(e)} (--mpi-timeout sets how long ranks wait)", e);
            }
        });
    }

    /// <summary>
    /// The libtorch threads of each rank unless --threads says otherwise: the machine's cores shared by its ranks (null
    /// alone: libtorch's own default, every core).
    /// </summary>
    public int? DefaultThreads => world is null ? null : Math.Max(1, Environment.ProcessorCount / LocalSize);

    /// <summary>The device this rank computes on: for CUDA, the GPU its local rank gives (<see cref="GpuIndex"/>).</summary>
    /// <param name="device">The device the settings resolved to.</param>
    /// <exception cref="InputError">More ranks on this machine than GPUs (named).</exception>
    public Device DeviceFor(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (world is null || device.type != DeviceType.CUDA) return device;
        return new Device(DeviceType.CUDA, GpuIndex(LocalRank, LocalSize, (int)cuda.device_count(), world.ProcessorName));
    }

    /// <summary>
    /// The GPU of a rank: its local rank when the machine shows at least one GPU per rank; GPU 0 when the rank sees a
    /// single GPU (the launcher gave each rank its own through CUDA_VISIBLE_DEVICES, as Slurm's --gpus-per-task=1 does,
    /// or the ranks share one); refused otherwise, since some GPUs would carry two ranks and others one.
    /// </summary>
    /// <param name="localRank">The rank's index on its machine.</param>
    /// <param name="localSize">Ranks on the machine.</param>
    /// <param name="deviceCount">GPUs this rank sees.</param>
    /// <param name="machine">The machine's name, for the message.</param>
    /// <exception cref="InputError">No GPU, or more ranks than GPUs (but more than one GPU).</exception>
    public static int GpuIndex(int localRank, int localSize, int deviceCount, string machine)
    {
        if (deviceCount < 1) throw new InputError($"--device cuda: {machine} shows no CUDA device to this rank.");
        if (deviceCount >= localSize) return localRank;
        if (deviceCount == 1) return 0;
        throw new InputError(string.Create(CultureInfo.InvariantCulture,
            $"--device cuda: {localSize} ranks run on {machine}, which has {deviceCount} GPUs: start at most {deviceCount} ranks per machine (mpiexec -ppn {deviceCount}) or give each rank its own GPU (CUDA_VISIBLE_DEVICES)."));
    }

    /// <summary>Runs <paramref name="work"/> on rank 0 first and on the others once it is done (when <paramref name="inTurn"/> is set); else everywhere at once.</summary>
    /// <param name="inTurn">Whether rank 0 must go first (it downloads the data the others then read).</param>
    /// <param name="work">The work.</param>
    public T RankZeroFirst<T>(bool inTurn, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (world is null || !inTurn) return work();
        T result = IsRoot ? work() : default!;
        world.Barrier(RankZeroWait);
        return IsRoot ? result : work();
    }

    /// <summary>
    /// The checkpoint a resumed run continues from, as rank 0 reads it: rank 0 broadcasts the file (weights, Adam's state,
    /// the generator's state, the settings) and every other rank continues from a private temporary copy of those bytes,
    /// deleted when the ranks are disposed, so that machines without a shared file system resume the same state (the
    /// trainer then checks that every rank's state digest agrees). Alone, or on rank 0: <paramref name="path"/> itself.
    /// </summary>
    /// <param name="path">The --resume path, as rank 0 sees it.</param>
    /// <exception cref="InputError">Rank 0 has no such file (named with the option).</exception>
    public string ShareCheckpoint(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (world is null) return path;
        if (IsRoot) Checks.ExistingFile(path, "--resume");
        var bytes = world.BroadcastBytes(IsRoot ? File.ReadAllBytes(path) : null, RankZeroWait);
        if (IsRoot) return path;
        var folder = Directory.CreateTempSubdirectory("lmconv-resume-");
        sharedCheckpoint = Path.Combine(folder.FullName, Path.GetFileName(path));
        File.WriteAllBytes(sharedCheckpoint, bytes);
        return sharedCheckpoint;
    }

    /// <summary>
    /// Why training stopped early, agreed by every rank (a collective after training): the strongest signal any rank
    /// received (SIGTERM over Ctrl+C), whether some rank's --minutes budget ran out, and the ranks that received a signal.
    /// </summary>
    /// <param name="signal">This rank's signal exit code (130, 143) or null.</param>
    /// <param name="budgetSpent">Whether this rank's budget ran out.</param>
    public (int? Signal, bool BudgetSpent, int[] SignalledRanks) AgreeWhyStopped(int? signal, bool budgetSpent)
    {
        if (group is null) return (signal, budgetSpent, signal is null ? [] : [0]);
        var values = new double[2 * Size];
        values[Rank] = signal ?? 0;
        values[Size + Rank] = budgetSpent ? 1 : 0;
        group.SumInPlace(values);
        var signalled = Enumerable.Range(0, Size).Where(r => values[r] != 0).ToArray();
        int? strongest = signalled.Length == 0 ? null : signalled.Max(r => (int)values[r]);
        return (strongest, values.Skip(Size).Any(v => v != 0), signalled);
    }

    /// <summary>One line naming the run's ranks and how a batch is split, for rank 0 to print; null alone.</summary>
    /// <param name="batch">The global batch.</param>
    /// <param name="workers">Workers per rank.</param>
    /// <param name="timeout">The collectives' timeout.</param>
    public string? Describe(int batch, int workers, TimeSpan timeout) => world is null
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"mpi: {Size} ranks on {Machines} machine{(Machines == 1 ? "" : "s")} ({world.Library.Summary}); each batch of {batch} in {Size * workers} shards, {workers} per rank; collectives wait up to {timeout.TotalSeconds:0.###} s (--mpi-timeout)");

    /// <summary>Finalizes MPI (after a barrier), unless a collective failed; nothing alone.</summary>
    public void Dispose()
    {
        group?.Dispose();
        ranks.Dispose();
        if (sharedCheckpoint is not null) Directory.Delete(Path.GetDirectoryName(sharedCheckpoint)!, recursive: true);
    }
}
