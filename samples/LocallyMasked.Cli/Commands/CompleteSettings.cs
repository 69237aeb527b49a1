using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>complete</c> does: fill a region of test images from a model file, the region generated last.</summary>
public sealed record CompleteSettings
{
    /// <summary>The model file and how to read it.</summary>
    public required ModelFileSettings Model { get; init; }

    /// <summary>--device and --threads.</summary>
    public required DeviceSettings Device { get; init; }

    /// <summary>Where the test images come from.</summary>
    public required DataSettings Data { get; init; }

    /// <summary>--order and --orders: replace the file's orders when typed.</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>--order-index: which of the model's orders to use (the region moved to its end).</summary>
    public required int OrderIndex { get; init; }

    /// <summary>--region: the pixels to generate.</summary>
    public required RegionChoice Region { get; init; }

    /// <summary>--first: the index of the first test image.</summary>
    public required int First { get; init; }

    /// <summary>--count: how many test images; with --image, how many completions of each picture.</summary>
    public required int Count { get; init; }

    /// <summary>--batch-size: images completed together.</summary>
    public required int BatchSize { get; init; }

    /// <summary>--temperature.</summary>
    public required double Temperature { get; init; }

    /// <summary>--sampler.</summary>
    public required SamplerChoice Sampler { get; init; }

    /// <summary>--seed: the completions drawn (and the split of a folder of images).</summary>
    public required ulong Seed { get; init; }

    /// <summary>--output: the folder of the sheets.</summary>
    public required string Output { get; init; }

    /// <summary>--image: the user's pictures to complete; empty: test images of the data.</summary>
    public IReadOnlyList<string> Images { get; init; } = Array.Empty<string>();

    /// <summary>--mask: an image whose white pixels are the ones to complete (instead of <see cref="Region"/>); null: the region.</summary>
    public string? Mask { get; init; }

    /// <summary>--force: replace the files of an earlier run.</summary>
    public bool Force { get; init; }
}
