using LocallyMasked.Cli.Data;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// Where a command's images come from: <c>--dataset</c>, <c>--data</c>, <c>--download</c> and <c>--mirror</c>, and how
/// a folder of images is read (<c>--size</c>, <c>--channels</c>, <c>--test-fraction</c>, split by <c>--seed</c>).
/// </summary>
public sealed record DataSettings
{
    /// <summary>The data set typed with --dataset; null when it was left out (<see cref="DataSources.Resolve"/> decides).</summary>
    public DatasetDefinition? Dataset { get; init; }

    /// <summary>The --data folder; null: the embedded digits (or data/NAME with <see cref="Download"/>).</summary>
    public string? Folder { get; init; }

    /// <summary>Download the data set into <see cref="Folder"/> first (--download).</summary>
    public bool Download { get; init; }

    /// <summary>The base address to download from instead of the published ones (--mirror; only with <see cref="Download"/>).</summary>
    public Uri? Mirror { get; init; }

    /// <summary>--size: the height and width a folder's images are cropped and resized to; null: their own size.</summary>
    public (int Height, int Width)? Size { get; init; }

    /// <summary>--channels: 1 (grey) or 3 (RGB) for a folder of images; null: by its first image.</summary>
    public int? Channels { get; init; }

    /// <summary>--test-fraction: the share of a folder's images held out for testing when it has no test/ subfolder.</summary>
    public double? TestFraction { get; init; }

    /// <summary>--max-image-pixels: the most pixels an image file of a folder may claim in its header.</summary>
    public long MaxImagePixels { get; init; } = ImageFolderOptions.DefaultMaxImagePixels;

    /// <summary>--seed: chooses the held-out images of a folder without a test/ subfolder.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Whether an option that applies only to a folder of images was given.</summary>
    public bool AnyFolderOption => Size is not null || Channels is not null || TestFraction is not null;
}
