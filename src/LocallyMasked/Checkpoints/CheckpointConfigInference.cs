using System.Text.RegularExpressions;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>Recovers a <see cref="PixelCnnConfig"/> from the tensor shapes of a state dict.</summary>
internal static class CheckpointConfigInference
{
    private static readonly Regex UpBlockKey = new(@"^up_layers\.0\.u_stream\.(\d+)\.", RegexOptions.Compiled | RegexOptions.CultureInvariant);

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
        var dict = stateDict.ToDictionary(
            kv => kv.Key.StartsWith(PixelCnnCheckpoint.DataParallelPrefix, StringComparison.Ordinal)
                ? kv.Key[PixelCnnCheckpoint.DataParallelPrefix.Length..] : kv.Key,
            kv => kv.Value, StringComparer.Ordinal);

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

        LikelihoodKind likelihood;
        int mixtures;
        if (imageChannels == 1 && parameters == 2) (likelihood, mixtures) = (LikelihoodKind.Binary, 1);
        else if (imageChannels == 1 && parameters % 3 == 0) (likelihood, mixtures) = (LikelihoodKind.GreyLogisticMixture, parameters / 3);
        else if (imageChannels == 3 && parameters % 10 == 0) (likelihood, mixtures) = (LikelihoodKind.RgbLogisticMixture, parameters / 10);
        else
            throw new CheckpointException($"Cannot tell the likelihood head from {imageChannels} image channels and {parameters} output parameters.");

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
