using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.Commands;

/// <summary>How <c>score</c> lists its images.</summary>
public enum ScoreSort
{
    /// <summary>In the order the images were named (a folder's files in path order).</summary>
    None,

    /// <summary>Most typical first: by the ensemble's bits per dimension, smallest first.</summary>
    Ascending,

    /// <summary>Least typical first (candidates for out-of-distribution inputs): largest bits per dimension first.</summary>
    Descending,
}

/// <summary>What <c>score</c> computes: every image's negative log-likelihood under a model file, for any image files.</summary>
public sealed record ScoreSettings
{
    /// <summary>The model file and how to read it.</summary>
    public required ModelFileSettings Model { get; init; }

    /// <summary>--device and --threads.</summary>
    public required DeviceSettings Device { get; init; }

    /// <summary>--dataset when typed: the published model whose shape a bare weight file is assumed to have.</summary>
    public required DatasetDefinition? Dataset { get; init; }

    /// <summary>--order and --orders: replace the file's orders when typed.</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>--data: image files and folders of images.</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>--batch-size: image x order pairs per network pass.</summary>
    public required int BatchSize { get; init; }

    /// <summary>--workers: shards of each batch computed at once; null: the device's default.</summary>
    public required int? Workers { get; init; }

    /// <summary>--sort: the order of the table's and the CSV's rows.</summary>
    public required ScoreSort Sort { get; init; }

    /// <summary>--csv: one row per image to this file, "-" for standard output; null: none.</summary>
    public string? Csv { get; init; }

    /// <summary>--json: the evaluation result (every image's figures, the means) to this file, "-" for standard output; null: none.</summary>
    public string? Json { get; init; }

    /// <summary>--max-image-pixels: the most pixels an image file may claim in its header (checked before it is decoded).</summary>
    public long MaxImagePixels { get; init; } = ImageFolderOptions.DefaultMaxImagePixels;
}
