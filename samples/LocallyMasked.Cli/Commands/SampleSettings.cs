using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>sample</c> draws: images from a model file, in one of its orders, written as PNG sheets.</summary>
public sealed record SampleSettings
{
    /// <summary>The model file and how to read it.</summary>
    public required ModelFileSettings Model { get; init; }

    /// <summary>--device and --threads.</summary>
    public required DeviceSettings Device { get; init; }

    /// <summary>--dataset when typed: the published model whose shape a bare weight file is assumed to have.</summary>
    public required DatasetDefinition? Dataset { get; init; }

    /// <summary>--order and --orders: replace the file's orders when typed.</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>--order-index: which of the model's orders to generate in.</summary>
    public required int OrderIndex { get; init; }

    /// <summary>--count: how many images.</summary>
    public required int Count { get; init; }

    /// <summary>--batch-size: images generated together.</summary>
    public required int BatchSize { get; init; }

    /// <summary>--temperature (1: the model's distribution).</summary>
    public required double Temperature { get; init; }

    /// <summary>--sampler.</summary>
    public required SamplerChoice Sampler { get; init; }

    /// <summary>--seed: the images drawn.</summary>
    public required ulong Seed { get; init; }

    /// <summary>--force: replace the files of an earlier run.</summary>
    public bool Force { get; init; }

    /// <summary>--output: the folder of the sheets.</summary>
    public required string Output { get; init; }

    /// <summary>--shard: which part of the images this process draws (<see cref="ShardChoice.Whole"/>: all).</summary>
    public ShardChoice Shard { get; init; } = ShardChoice.Whole;
}
