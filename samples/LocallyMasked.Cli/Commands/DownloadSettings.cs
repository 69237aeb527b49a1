using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>download</c> fetches, from where, into which folder.</summary>
public sealed record DownloadSettings
{
    /// <summary>The data set, with --mirror applied.</summary>
    public required DatasetDescription Dataset { get; init; }

    /// <summary>--to: the target folder (default data/NAME).</summary>
    public required string Folder { get; init; }

    /// <summary>--stall-seconds: give up when no data arrives for this long.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
