using System.Text.RegularExpressions;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>Recovers a <see cref="PixelCnnConfig"/> or a <see cref="PixelCnnPlusPlusConfig"/> from the tensor shapes of a state dict.</summary>
internal static class CheckpointConfigInference
{
    private static readonly Regex UpBlockKey = new(@"^up_layers\.0\.u_stream\.(\d+)\.", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>The key prefixes that only the PixelCNN++ baseline has (its second stream and its shifted resampling layers).</summary>
    private static readonly string[] BaselinePrefixes = { "ul_init.", "upsize_ul_stream.", "downsize_ul_stream." };

    /// <summary>Whether a state dict holds a PixelCNN++ baseline (keys <c>ul_init.*</c>, <c>upsize_ul_stream.*</c> or <c>downsize_ul_stream.*</c>).</summary>
    /// <param name="stateDict">Weights by PyTorch name (a <c>module.</c> prefix is ignored).</param>
    public static bool IsBaseline(IReadOnlyDictionary<string, Tensor> stateDict) =>
        stateDict.Keys.Select(StripPrefix).Any(k => BaselinePrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)));

    /// <summary>
    /// Infers the PixelCNN++ baseline's filters, residual blocks, image channels, likelihood head and mixture components
    /// from the shapes. Image size and bits come from <paramref name="template"/> (32x32 for RGB and 28x28 for one
    /// channel, 8 bits, without one); dropout is the authors' 0.5 (their baseline.py hard-codes it).
    /// </summary>
    /// <param name="stateDict">Weights by PyTorch name (a <c>module.</c> prefix is ignored).</param>
    /// <param name="template">Supplies the image size and bits; null for the defaults above.</param>
    /// <returns>A validated configuration.</returns>
    /// <exception cref="CheckpointException">The state dict lacks the keys needed or their shapes are inconsistent.</exception>
    public static PixelCnnPlusPlusConfig InferBaseline(IReadOnlyDictionary<string, Tensor> stateDict, PixelCnnConfig? template = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var dict = stateDict.ToDictionary(kv => StripPrefix(kv.Key), kv => kv.Value, StringComparer.Ordinal);
        var initial = Require(dict, "u_init.conv.weight_v", 4);
        int filters = (int)initial.shape[0];
        int imageChannels = (int)initial.shape[1] - 1;
        var head = Require(dict, "nin_out.lin_a.weight_v", 2);
        int parameters = (int)head.shape[0];
        if (head.shape[1] != filters)
            throw new CheckpointException($"nin_out.lin_a.weight_v has {head.shape[1]} inputs but u_init has {filters} filters.");
        int blocks = dict.Keys.Select(k => UpBlockKey.Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1)
            .DefaultIfEmpty(0).Max();
        if (blocks == 0) throw new CheckpointException("The state dict has no up_layers.0.u_stream.* keys.");
        var (likelihood, mixtures) = Head(imageChannels, parameters);
        var config = new PixelCnnPlusPlusConfig
        {
            ImageChannels = imageChannels,
            Height = template?.Height ?? (imageChannels == 1 ? 28 : 32),
            Width = template?.Width ?? (imageChannels == 1 ? 28 : 32),
            Filters = filters,
            ResidualBlocks = blocks,
            Likelihood = likelihood,
            MixtureComponents = likelihood == LikelihoodKind.Binary ? new PixelCnnPlusPlusConfig().MixtureComponents : mixtures,
            Bits = template?.Bits ?? 8,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"The inferred configuration is invalid: {e.Message}", e);
        }
        return config;
    }

    private static string StripPrefix(string key) => StateDictFit.WithoutPrefix(key);

    /// <summary>The likelihood head and mixture count that <paramref name="parameters"/> outputs per pixel mean.</summary>
    private static (LikelihoodKind Likelihood, int Mixtures) Head(int imageChannels, int parameters)
    {
        if (imageChannels == 1 && parameters == 2) return (LikelihoodKind.Binary, 1);
        if (imageChannels == 1 && parameters % 3 == 0) return (LikelihoodKind.GreyLogisticMixture, parameters / 3);
        if (imageChannels == 3 && parameters % 10 == 0) return (LikelihoodKind.RgbLogisticMixture, parameters / 10);
        throw new CheckpointException($"Cannot tell the likelihood head from {imageChannels} image channels and {parameters} output parameters.");
    }

    /// <summary>
    /// Infers filters, residual blocks, image channels, kernel size, likelihood head and mixture components,
    /// weight normalization, conv bias and learned mask weight from the shapes. What shapes cannot tell comes
    /// from <paramref name="template"/>: image size, bits, maximum dilation and dropout, and which of PONO, order rescaling
    /// or no normalization (all store plain conv weights; PONO, the published models' choice, when the template names
    /// weight normalization). Without a template the size is 32x32 for RGB and 28x28 (MNIST) for one channel, with
    /// 8 bits, dilation 2, dropout 0 and PONO.
    /// </summary>
    /// <param name="stateDict">Weights by PyTorch name (a <c>module.</c> prefix is ignored).</param>
    /// <param name="template">Supplies the fields shapes cannot determine; null for the defaults above.</param>
    /// <returns>A validated configuration.</returns>
    /// <exception cref="CheckpointException">The state dict lacks the keys needed or their shapes are inconsistent.</exception>
    public static PixelCnnConfig Infer(IReadOnlyDictionary<string, Tensor> stateDict, PixelCnnConfig? template = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var dict = stateDict.ToDictionary(kv => StripPrefix(kv.Key), kv => kv.Value, StringComparer.Ordinal);

        bool weightNorm = dict.ContainsKey("u_init.weight_g");
        var initial = Require(dict, weightNorm ? "u_init.weight_v" : "u_init.weight", 4);
        int filters = (int)initial.shape[0];
        int imageChannels = (int)initial.shape[1] - 1;
        int kernel = (int)initial.shape[2];
        var head = Require(dict, "nin_out.lin_a.weight_v", 2);
        int parameters = (int)head.shape[0];
        if (head.shape[1] != filters)
            throw new CheckpointException($"nin_out.lin_a.weight_v has {head.shape[1]} inputs but u_init has {filters} filters.");

        int blocks = dict.Keys.Select(k => UpBlockKey.Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1)
            .DefaultIfEmpty(0).Max();
        if (blocks == 0) throw new CheckpointException("The state dict has no up_layers.0.u_stream.* keys.");

        var (likelihood, mixtures) = Head(imageChannels, parameters);

        var baseline = template ?? (imageChannels == 1
            ? new PixelCnnConfig { Height = 28, Width = 28 }
            : new PixelCnnConfig());
        // The tensors tell weight normalization apart; PONO, order rescaling and none store the same tensors, so those
        // come from the template (PONO, the published models' choice, when the template asks for weight normalization).
        var normalization = weightNorm
            ? FeatureNormalization.WeightNorm
            : baseline.Normalization == FeatureNormalization.WeightNorm ? FeatureNormalization.Pono : baseline.Normalization;

        var config = baseline with
        {
            ImageChannels = imageChannels,
            Filters = filters,
            ResidualBlocks = blocks,
            KernelSize = kernel,
            Likelihood = likelihood,
            MixtureComponents = likelihood == LikelihoodKind.Binary ? baseline.MixtureComponents : mixtures,
            Normalization = normalization,
            ConvolutionBias = dict.ContainsKey("u_init.bias"),
            LearnWeightForMasks = dict.ContainsKey("u_init.mask_weight"),
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"The inferred configuration is invalid: {e.Message}", e);
        }
        return config;
    }

    private static Tensor Require(Dictionary<string, Tensor> dict, string key, int rank)
    {
        if (!dict.TryGetValue(key, out var t))
            throw new CheckpointException($"The state dict has no '{key}' entry, needed to infer the configuration.");
        if (t.dim() != rank)
            throw new CheckpointException($"'{key}' has shape ({string.Join(", ", t.shape)}), expected {rank} dimensions.");
        return t;
    }
}
