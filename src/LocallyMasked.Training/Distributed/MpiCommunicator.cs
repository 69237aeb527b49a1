using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// MPI_COMM_WORLD of a process started by an MPI launcher: its rank and size, its place on its machine (for one rank
/// per GPU), and the collectives data-parallel training needs, each with a timeout. Create it once per process with
/// <see cref="Initialize"/>; <see cref="Dispose"/> finalizes MPI (after a barrier), and MPI cannot be initialized again.
/// </summary>
/// <remarks>
/// <para>Every collective is started nonblocking (MPI_Ibarrier, MPI_Ibcast, ...) and polled with MPI_Test against a
/// deadline, so that a rank that died or hangs makes the others fail with an <see cref="MpiTimeoutException"/> that
/// names the collective, instead of waiting forever. After a timeout or an MPI error the collective is still pending
/// inside MPI: the communicator refuses further use, and the program should report the error in one line and call
/// <see cref="Abort"/>, which ends every rank. (MPICH's <c>mpiexec</c> itself stops every rank as soon as one exits;
/// the timeout covers ranks that hang, unreachable hosts and launchers that do not.)</para>
/// <para>Sums are computed in a fixed order, so their results are bitwise reproducible: see <see cref="AllreduceSum(Span{float}, TimeSpan?)"/>.</para>
/// <para>Calls may come from any thread, one at a time (a lock orders them): MPI is initialized with
/// <see cref="MpiThreadLevel.Serialized"/>. Buffers are copied through pinned arrays that the communicator owns, so
/// MPI never sees memory the garbage collector could move.</para>
/// </remarks>
public sealed partial class MpiCommunicator : IDisposable, IPinnedSum
{
    /// <summary>How long a collective waits for the other ranks unless told otherwise: 5 minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    // The first polls only yield the core (a peer on the same machine usually needs it); after this, a poll per millisecond.
    private static readonly TimeSpan BusyPolling = TimeSpan.FromMilliseconds(20);

    // How long Abort waits between flushing this process's output and ending the job.
    private static readonly TimeSpan AbortGrace = TimeSpan.FromMilliseconds(250);

    // Buffers of collectives that never completed: MPI may still write into them, so they live as long as the process.
    private static readonly List<Array> Abandoned = [];

    private readonly MpiNative native;
    private readonly object gate = new();
    private bool disposed;
    private string? failure;

    private MpiCommunicator(MpiLibrary library, TimeSpan timeout, MpiThreadLevel threadLevel, int rank, int size, int localRank, int localSize, string processorName)
    {
        Library = library;
        native = library.Native;
        Timeout = timeout;
        ThreadLevel = threadLevel;
        Rank = rank;
        Size = size;
        LocalRank = localRank;
        LocalSize = localSize;
        ProcessorName = processorName;
    }

    /// <summary>The MPI library in use.</summary>
    public MpiLibrary Library { get; }

    /// <summary>How long each collective waits for the other ranks unless a call gives its own timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The thread level MPI provides (at least <see cref="MpiThreadLevel.Serialized"/>).</summary>
    public MpiThreadLevel ThreadLevel { get; }

    /// <summary>This process's rank, from 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks.</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that writes files and broadcasts.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>This process's index among the ranks on its machine (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED): the GPU it uses.</summary>
    public int LocalRank { get; }

    /// <summary>Number of ranks on this machine.</summary>
    public int LocalSize { get; }

    /// <summary>MPI_Get_processor_name: the machine's name.</summary>
    public string ProcessorName { get; }

    /// <summary>
    /// Initializes MPI (MPI_Init_thread, <see cref="MpiThreadLevel.Serialized"/>) in a process started by an MPI launcher
    /// and returns MPI_COMM_WORLD. Errors of MPI calls are returned, not fatal (MPI_ERRORS_RETURN), and raised as
    /// exceptions. Initialization itself waits for the other ranks as long as the launcher lets it (MPI has no
    /// nonblocking form of it).
    /// </summary>
    /// <param name="launch">This process's launch (<see cref="MpiLaunch.FromEnvironment"/>).</param>
    /// <param name="timeout">How long each collective waits for the other ranks (default <see cref="DefaultTimeout"/>).</param>
    /// <param name="library">The MPI library (default <see cref="MpiLibrary.Load()"/>).</param>
    /// <exception cref="MpiUnavailableException">Not started by an MPI launcher, started by Open MPI's, no MPI library of the
    /// MPICH family, or a library that does not belong to the launcher (it sees another rank or size than the launcher gave).</exception>
    /// <exception cref="InvalidOperationException">MPI is already initialized in this process, or was finalized.</exception>
    public static MpiCommunicator Initialize(MpiLaunch launch, TimeSpan? timeout = null, MpiLibrary? library = null)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var wait = timeout ?? DefaultTimeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Expected a positive timeout.");
        if (!launch.IsLaunched)
            throw new MpiUnavailableException("This process was not started by an MPI launcher (its environment has no PMI_RANK, PMIX_RANK or MV2_COMM_WORLD_RANK): start the ranks with mpiexec -n N (or srun --mpi=pmi2), or run without MPI");
        launch.EnsureSupported();
        library ??= MpiLibrary.Load();
        var native = library.Native;

        Require(native.Finalized(out int finalized), native, "MPI_Finalized");
        if (finalized != 0) throw new InvalidOperationException("MPI was finalized in this process (its communicator was disposed) and cannot be initialized again.");
        Require(native.Initialized(out int initialized), native, "MPI_Initialized");
        if (initialized != 0) throw new InvalidOperationException("MPI is already initialized in this process: initialize it once and share that communicator.");

        Require(native.InitThread(IntPtr.Zero, IntPtr.Zero, MpiAbi.ThreadSerialized, out int provided), native, "MPI_Init_thread");
        Require(native.CommSetErrhandler(MpiAbi.CommWorld, MpiAbi.ErrorsReturn), native, "MPI_Comm_set_errhandler");
        if (provided < MpiAbi.ThreadSerialized)
        {
            native.FinalizeMpi();
            throw new MpiUnavailableException($"{library.Summary} provides the thread level {(MpiThreadLevel)provided}; {MpiThreadLevel.Serialized} is needed");
        }

        Require(native.CommRank(MpiAbi.CommWorld, out int rank), native, "MPI_Comm_rank");
        Require(native.CommSize(MpiAbi.CommWorld, out int size), native, "MPI_Comm_size");
        if ((launch.Rank is { } launchRank && launchRank != rank) || (launch.Size is { } launchSize && launchSize != size))
        {
            native.FinalizeMpi();
            throw new MpiUnavailableException(
                $"The launcher started this process as rank {launch.Rank} of {launch.Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}, but {library.Name} ({library.Summary}) sees rank {rank} of {size}: the MPI library does not belong to the launcher (use the mpiexec of the same MPI)");
        }

        // The ranks that share this machine's memory: the local rank picks the GPU.
        Require(native.CommSplitType(MpiAbi.CommWorld, MpiAbi.CommTypeShared, rank, MpiAbi.InfoNull, out int local), native, "MPI_Comm_split_type");
        Require(native.CommRank(local, out int localRank), native, "MPI_Comm_rank");
        Require(native.CommSize(local, out int localSize), native, "MPI_Comm_size");
        Require(native.CommFree(ref local), native, "MPI_Comm_free");

        var name = new byte[MpiAbi.MaxProcessorName + 1];
        Require(native.GetProcessorName(name, out int nameLength), native, "MPI_Get_processor_name");
        return new MpiCommunicator(library, wait, (MpiThreadLevel)provided, rank, size, localRank, localSize, MpiNative.Text(name, nameLength));
    }

    /// <summary>
    /// Ends every rank of the job now (MPI_Abort on MPI_COMM_WORLD), with <paramref name="exitCode"/> as the job's exit
    /// code: the way out after an error that the other ranks cannot learn about otherwise (a timeout, a failed
    /// collective, an error on this rank alone). MPICH prints one line of its own ("application called MPI_Abort").
    /// Standard output and error are flushed first, and given a quarter of a second to reach the launcher.
    /// </summary>
    [DoesNotReturn]
    public void Abort(int exitCode)
    {
        // What this process printed must reach the launcher before MPI_Abort makes it end the job: MPICH's Hydra drops
        // output still in transit from a rank it kills.
        Console.Out.Flush();
        Console.Error.Flush();
        Thread.Sleep(AbortGrace);
        // Not under the lock: another thread may be waiting in a collective, and an abort must not wait for it.
        if (!disposed) native.Abort(MpiAbi.CommWorld, exitCode);
        Environment.Exit(exitCode);
        throw new UnreachableException();
    }

    /// <summary>
    /// Finalizes MPI after a barrier (with the communicator's timeout), so that no rank finalizes while another still
    /// sends. After a failed collective it does nothing: MPI's state is unknown and finalizing could hang, so the
    /// program should have called <see cref="Abort"/>. Call it from the thread that called <see cref="Initialize"/>.
    /// </summary>
    /// <exception cref="MpiTimeoutException">The final barrier timed out (MPI is then not finalized).</exception>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed || failure is not null) return;
            Barrier(Timeout);
            disposed = true;
            Require(native.FinalizeMpi(), native, "MPI_Finalize");
        }
    }

    /// <summary>The timeout of one call, checked.</summary>
    private TimeSpan TimeoutOf(TimeSpan? timeout, string parameter = "timeout")
    {
        var wait = timeout ?? Timeout;
        if (wait <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(parameter, timeout, "Expected a positive timeout.");
        return wait;
    }

    /// <summary>Refuses a call on a finalized or failed communicator. Called under the lock.</summary>
    private void ThrowIfUnusable()
    {
        if (disposed)
            throw new ObjectDisposedException(nameof(MpiCommunicator), "MPI was finalized when this communicator was disposed: collectives need an initialized MPI (MpiCommunicator.Initialize, once per process).");
        if (failure is not null)
            throw new InvalidOperationException($"An earlier collective failed ({failure}): MPI cannot continue in this process; report the error and call Abort.");
    }

    /// <summary>
    /// Starts a nonblocking collective and polls it until it completes or <paramref name="timeout"/> passes. Called
    /// under the lock. On a timeout or an error, <paramref name="inFlight"/> (the pinned arrays the collective reads
    /// and writes) are kept alive for the rest of the process, and the communicator refuses further use.
    /// </summary>
    private void Run(string operation, TimeSpan timeout, Func<(int Code, int Request)> start, params Array[] inFlight)
    {
        var (code, request) = start();
        if (code != MpiAbi.Success) throw Failed(operation, "start", code, inFlight);
        long began = Stopwatch.GetTimestamp();
        while (true)
        {
            code = native.Test(ref request, out int done, MpiAbi.StatusIgnore);
            if (code != MpiAbi.Success) throw Failed(operation, "MPI_Test", code, inFlight);
            if (done != 0) return;
            var elapsed = Stopwatch.GetElapsedTime(began);
            if (elapsed > timeout)
            {
                Abandon(operation + " timed out", inFlight);
                throw new MpiTimeoutException(operation, timeout, Rank, Size);
            }

            if (elapsed < BusyPolling) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    private MpiException Failed(string operation, string call, int code, Array[] inFlight)
    {
        string message = $"MPI {operation} failed on rank {Rank} of {Size} ({call}): {native.Describe(code)}";
        Abandon(message, inFlight);
        return new MpiException(message, code);
    }

    private void Abandon(string reason, Array[] inFlight)
    {
        failure = reason;
        lock (Abandoned) Abandoned.AddRange(inFlight);
    }

    private static void Require(int code, MpiNative native, string call)
    {
        if (code != MpiAbi.Success) throw new MpiException($"{call} failed: {native.Describe(code)}", code);
    }
}
