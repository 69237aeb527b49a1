namespace LocallyMasked.Training.Distributed;

/// <summary>
/// A collective did not complete within its timeout: another rank stopped, hangs or cannot be reached. The message
/// is one line naming the collective, the timeout and this rank. The collective is still pending inside MPI, so the
/// communicator refuses further use; the way out is <see cref="MpiCommunicator.Abort"/>, which ends every rank.
/// </summary>
public sealed class MpiTimeoutException : MpiException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">What timed out, for example "allreduce (sum of 123,316 floats)".</param>
    /// <param name="timeout">The time it was given.</param>
    /// <param name="rank">This process's rank.</param>
    /// <param name="size">Number of ranks.</param>
    public MpiTimeoutException(string operation, TimeSpan timeout, int rank, int size)
        : base($"MPI {operation} did not complete within {Describe(timeout)} on rank {rank} of {size}: another rank stopped, hangs or cannot be reached", 0)
    {
        Operation = operation;
        Timeout = timeout;
    }

    /// <summary>What timed out.</summary>
    public string Operation { get; }

    /// <summary>The time it was given.</summary>
    public TimeSpan Timeout { get; }

    private static string Describe(TimeSpan timeout) =>
        timeout.TotalSeconds < 120
            ? FormattableString.Invariant($"{timeout.TotalSeconds:0.###} s")
            : FormattableString.Invariant($"{timeout.TotalMinutes:0.#} min");
}
