using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>evaluate</c> measures: test likelihoods of a model file (or the mean of several) per order and for their ensemble.</summary>
public sealed record EvaluateSettings
{
    /// <summary>The model file (with --average, several) and how to read it.</summary>
    public required ModelFileSettings Model { get; init; }

    /// <summary>--device and --threads.</summary>
    public required DeviceSettings Device { get; init; }

    /// <summary>Where the test images come from.</summary>
    public required DataSettings Data { get; init; }

    /// <summary>--order and --orders: replace the file's orders when typed.</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>--images: the first N test images (0: all).</summary>
    public required int Images { get; init; }

    /// <summary>--batch-size: image x order pairs per network pass.</summary>
    public required int BatchSize { get; init; }

    /// <summary>--region: also score this region given the rest; null: none.</summary>
    public required RegionChoice? Region { get; init; }

    /// <summary>--workers: shards of each batch computed at once; null: <see cref="DeviceSettings.DefaultWorkers"/>.</summary>
    public required int? Workers { get; init; }

    /// <summary>--seed: chooses the test split of a folder of images (recorded in the results).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>--json: write the results as JSON to this file, or to standard output for "-"; null: none.</summary>
    public string? Json { get; init; }

    /// <summary>--per-image: write one CSV row per image to this file, or to standard output for "-"; null: none.</summary>
    public string? PerImage { get; init; }

    /// <summary>--shard: which part of the images this process evaluates (<see cref="ShardChoice.Whole"/>: all).</summary>
    public ShardChoice Shard { get; init; } = ShardChoice.Whole;
}
