namespace LocallyMasked.Training.Distributed;

/// <summary>What started this process, as its environment tells (<see cref="MpiLaunch.FromEnvironment"/>).</summary>
public enum MpiLauncher
{
    /// <summary>No MPI launcher: a plain process.</summary>
    None,

    /// <summary>
    /// A process manager speaking PMI-1 or PMI-2 (<c>PMI_RANK</c>, <c>PMI_SIZE</c>): MPICH's and Intel MPI's
    /// <c>mpiexec</c> (Hydra), Slurm's <c>srun --mpi=pmi2</c>, Cray's PMI.
    /// </summary>
    Pmi,

    /// <summary>A process manager speaking PMIx (<c>PMIX_RANK</c>): Slurm's <c>srun --mpi=pmix</c>, PRRTE.</summary>
    Pmix,

    /// <summary>MVAPICH's <c>mpirun_rsh</c> (<c>MV2_COMM_WORLD_RANK</c>).</summary>
    Mvapich,

    /// <summary>Open MPI's <c>mpirun</c> (<c>OMPI_COMM_WORLD_RANK</c>): detected in order to be refused (see <see cref="MpiLaunch.EnsureSupported"/>).</summary>
    OpenMpi,
}
