using System.Globalization;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// Whether this process was started by an MPI launcher, and the rank, size and local rank the launcher gave it, read
/// from the environment before MPI is loaded: a program decides from this whether to initialize MPI at all, so that a
/// plain run never touches it. The values are the launcher's; once MPI is initialized the communicator's are the
/// truth, and <see cref="MpiCommunicator.Initialize"/> checks that the two agree.
/// </summary>
/// <param name="Launcher">Which launcher, <see cref="MpiLauncher.None"/> for a plain process.</param>
/// <param name="Rank">This process's rank (null without a launcher).</param>
/// <param name="Size">Number of processes, where the launcher tells it (PMIx alone does not).</param>
/// <param name="LocalRank">This process's index among those on its machine, where the launcher tells it.</param>
public sealed record MpiLaunch(MpiLauncher Launcher, int? Rank, int? Size, int? LocalRank)
{
    /// <summary>A plain process.</summary>
    public static MpiLaunch None { get; } = new(MpiLauncher.None, null, null, null);

    /// <summary>Whether a launcher started this process (Open MPI's included, which <see cref="EnsureSupported"/> refuses).</summary>
    public bool IsLaunched => Launcher != MpiLauncher.None;

    /// <summary>This process's launch, from its environment variables.</summary>
    /// <exception cref="MpiUnavailableException">A launcher variable holds something that is not a rank or a size.</exception>
    public static MpiLaunch FromEnvironment() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>
    /// The launch that the given environment variables describe. Open MPI's variables are looked at first (its
    /// <c>mpirun</c> also sets PMIx's), then PMI's (MPICH's and Intel MPI's Hydra, Slurm's PMI-2, Cray), PMIx's and
    /// MVAPICH's. Slurm's own task variables (<c>SLURM_PROCID</c>) alone do not make an MPI launch: every task of
    /// <c>srun</c> has them, MPI or not; they complete the size and local rank of a PMI or PMIx launch.
    /// </summary>
    /// <param name="variable">The value of an environment variable, null when it is not set.</param>
    /// <exception cref="MpiUnavailableException">A launcher variable holds something that is not a rank or a size.</exception>
    public static MpiLaunch Detect(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        int? Read(string name, int minimum) => Parse(variable, name, minimum);

        MpiLaunch launch;
        if (variable("OMPI_COMM_WORLD_RANK") is not null || variable("OMPI_COMM_WORLD_SIZE") is not null)
            launch = new(MpiLauncher.OpenMpi, Read("OMPI_COMM_WORLD_RANK", 0), Read("OMPI_COMM_WORLD_SIZE", 1), Read("OMPI_COMM_WORLD_LOCAL_RANK", 0));
        else if (variable("PMI_RANK") is not null)
            launch = new(MpiLauncher.Pmi, Read("PMI_RANK", 0), Read("PMI_SIZE", 1) ?? Read("SLURM_NTASKS", 1),
                Read("MPI_LOCALRANKID", 0) ?? Read("PMI_LOCAL_RANK", 0) ?? Read("SLURM_LOCALID", 0));
        else if (variable("PMIX_RANK") is not null)
            launch = new(MpiLauncher.Pmix, Read("PMIX_RANK", 0), Read("SLURM_NTASKS", 1), Read("SLURM_LOCALID", 0));
        else if (variable("MV2_COMM_WORLD_RANK") is not null)
            launch = new(MpiLauncher.Mvapich, Read("MV2_COMM_WORLD_RANK", 0), Read("MV2_COMM_WORLD_SIZE", 1), Read("MV2_COMM_WORLD_LOCAL_RANK", 0));
        else
            return None;

        if (launch.Rank is { } rank && launch.Size is { } size && rank >= size)
            throw new MpiUnavailableException($"The MPI launcher gave rank {rank} of {size} processes: a rank must be below the size (check the launcher's environment).");
        return launch;
    }

    /// <summary>Refuses a launch this package cannot work under: Open MPI's.</summary>
    /// <exception cref="MpiUnavailableException">Started by Open MPI's <c>mpirun</c>.</exception>
    public void EnsureSupported()
    {
        if (Launcher == MpiLauncher.OpenMpi)
            throw new MpiUnavailableException(OpenMpiMessage);
    }

    /// <summary>The one line that refuses Open MPI.</summary>
    internal const string OpenMpiMessage =
        "Open MPI is not supported (this process was started by Open MPI's mpirun, whose MPI handles are pointers, not MPICH's integers); install MPICH (apt-get install mpich) and start the ranks with its mpiexec, or use Intel MPI, MVAPICH or Cray MPICH";

    private static int? Parse(Func<string, string?> variable, string name, int minimum)
    {
        string? text = variable(name);
        if (text is null) return null;
        if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= minimum) return value;
        throw new MpiUnavailableException($"The MPI launcher's variable {name} is '{text}': expected a whole number from {minimum} (check the launcher's environment).");
    }
}
