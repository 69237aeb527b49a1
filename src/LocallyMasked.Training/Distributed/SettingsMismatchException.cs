namespace LocallyMasked.Training.Distributed;

/// <summary>
/// Ranks were started with different settings (<see cref="SettingsAgreement.Require"/>): every rank raises it, with the
/// same one-line message naming the ranks whose settings differ from rank 0's.
/// </summary>
public sealed class SettingsMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="differingRanks">The ranks whose settings differ from rank 0's, in increasing order.</param>
    public SettingsMismatchException(IReadOnlyList<int> differingRanks)
        : base(Describe(differingRanks))
    {
        DifferingRanks = differingRanks;
    }

    /// <summary>The ranks whose settings differ from rank 0's.</summary>
    public IReadOnlyList<int> DifferingRanks { get; }

    private static string Describe(IReadOnlyList<int> ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        string which = ranks.Count == 1
            ? $"rank {ranks[0]} was"
            : $"ranks {string.Join(", ", ranks.Take(ranks.Count - 1))} and {ranks[^1]} were";
        return $"{which} started with other settings than rank 0: start every rank with the same command line";
    }
}
