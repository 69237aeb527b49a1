namespace LocallyMasked.Training.Distributed;

/// <summary>
/// A roll call (<see cref="MpiCommunicator.RollCall"/>) did not hear from some ranks in time: they stopped, hang or cannot
/// be reached. On rank 0 the message names the ranks that did not report; on another rank, rank 0 (which did not answer).
/// Like a timeout, it leaves MPI with requests that never completed: report it and call <see cref="MpiCommunicator.Abort"/>.
/// </summary>
public sealed class MpiRankLostException : MpiException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="occasion">Where the ranks were, for example "the end of step 12".</param>
    /// <param name="lost">The ranks not heard from, in rank order.</param>
    /// <param name="timeout">How long this rank waited.</param>
    /// <param name="rank">This process's rank.</param>
    /// <param name="size">Number of ranks.</param>
    public MpiRankLostException(string occasion, IReadOnlyList<int> lost, TimeSpan timeout, int rank, int size)
        : base(Describe(occasion, lost, timeout, rank, size), 0)
    {
        LostRanks = lost.ToArray();
        Timeout = timeout;
    }

    /// <summary>The ranks not heard from.</summary>
    public IReadOnlyList<int> LostRanks { get; }

    /// <summary>How long this rank waited.</summary>
    public TimeSpan Timeout { get; }

    private static string Describe(string occasion, IReadOnlyList<int> lost, TimeSpan timeout, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(lost);
        string who = lost.Count == 1 ? $"rank {lost[0]}" : $"ranks {string.Join(", ", lost)}";
        string seconds = timeout.TotalSeconds < 120
            ? FormattableString.Invariant($"{timeout.TotalSeconds:0.###} s")
            : FormattableString.Invariant($"{timeout.TotalMinutes:0.#} min");
        string did = rank == 0 ? "did not report to rank 0" : $"did not answer rank {rank}";
        string it = lost.Count == 1 ? "it stopped, hangs or cannot be reached" : "they stopped, hang or cannot be reached";
        return $"MPI roll call at {occasion}: {who} of {size} {did} within {seconds}: {it}";
    }
}
