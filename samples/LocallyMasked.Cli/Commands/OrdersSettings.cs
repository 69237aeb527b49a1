using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.Commands;

/// <summary>What <c>orders</c> draws: the variants of a base order for an image size, into a folder.</summary>
public sealed record OrdersSettings
{
    /// <summary>--order and --orders.</summary>
    public required OrderChoice Orders { get; init; }

    /// <summary>--height, 1 to <see cref="OrdersCommand.MaxSide"/>.</summary>
    public required int Height { get; init; }

    /// <summary>--width, 1 to <see cref="OrdersCommand.MaxSide"/>.</summary>
    public required int Width { get; init; }

    /// <summary>--output: the folder of the PNG files.</summary>
    public required string Output { get; init; }
}
