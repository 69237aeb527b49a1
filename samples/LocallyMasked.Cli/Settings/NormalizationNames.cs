using LocallyMasked.Layers;

namespace LocallyMasked.Cli.Settings;

/// <summary>The feature normalizations by the names the authors' <c>--normalization</c> gives them (<c>--normalization</c> here).</summary>
public static class NormalizationNames
{
    /// <summary>Each name and its normalization.</summary>
    public static IReadOnlyDictionary<string, FeatureNormalization> All { get; } = new Dictionary<string, FeatureNormalization>(StringComparer.Ordinal)
    {
        ["pono"] = FeatureNormalization.Pono,
        ["weight_norm"] = FeatureNormalization.WeightNorm,
        ["none"] = FeatureNormalization.None,
        ["order_rescale"] = FeatureNormalization.OrderRescale,
    };
}
