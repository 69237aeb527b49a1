namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>merge</c> puts together: the JSON parts of a sharded evaluation, and where the whole goes.</summary>
public sealed record MergeSettings
{
    /// <summary>The parts' files (evaluate --shard I/N --json), in any order.</summary>
    public required IReadOnlyList<string> Parts { get; init; }

    /// <summary>--json: the whole evaluation's result, in the same schema; "-" for standard output; null: the table only.</summary>
    public string? Json { get; init; }

    /// <summary>--per-image: one CSV row per image of the whole evaluation; "-" for standard output; null: none.</summary>
    public string? PerImage { get; init; }
}
