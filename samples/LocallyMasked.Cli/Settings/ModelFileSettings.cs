using LocallyMasked.Layers;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// The model file a command reads (<c>--checkpoint</c>, with <c>--average</c> for evaluate) and what it says where the
/// file does not record it, or overrides what the file records: <c>--normalization</c>, <c>--max-dilation</c>,
/// <c>--ema-weights</c> and <c>--order-variants</c>.
/// </summary>
public sealed record ModelFileSettings
{
    /// <summary>The --checkpoint file.</summary>
    public required string Checkpoint { get; init; }

    /// <summary>Further training checkpoints whose weights are averaged with <see cref="Checkpoint"/>'s (--average).</summary>
    public IReadOnlyList<string> Average { get; init; } = Array.Empty<string>();

    /// <summary>--normalization: assumed for a weight file that does not record it, or an override; null: the file's (or pono).</summary>
    public FeatureNormalization? Normalization { get; init; }

    /// <summary>--max-dilation: as <see cref="Normalization"/>.</summary>
    public int? MaxDilation { get; init; }

    /// <summary>--ema-weights: the moving average of the weights instead of the trained weights.</summary>
    public bool EmaWeights { get; init; }

    /// <summary>--order-variants: the indices of the model's orders to use, each once; empty: all. Whether they are in
    /// range is known once the model is loaded.</summary>
    /// <exception cref="InputError">An index given more than once.</exception>
    public IReadOnlyList<int> OrderVariants
    {
        get => orderVariants;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            var repeated = value.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
            if (repeated.Length > 0)
                throw new InputError($"--order-variants {string.Join(" ", value)}: {string.Join(", ", repeated)} is given more than once; name each order once.");
            orderVariants = value.ToArray();
        }
    }

    private readonly IReadOnlyList<int> orderVariants = Array.Empty<int>();
}
