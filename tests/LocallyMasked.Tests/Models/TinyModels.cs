using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

/// <summary>Tiny float64 models and images for fast, exact tests.</summary>
internal static class TinyModels
{
    public static PixelCnnConfig Rgb(int size = 8) => new()
    {
        Height = size, Width = size, Filters = 8, ResidualBlocks = 1, MixtureComponents = 2,
    };

    public static PixelCnnConfig Grey(int size = 6) => Rgb(size) with { ImageChannels = 1, Likelihood = LikelihoodKind.GreyLogisticMixture };

    public static PixelCnnConfig Binary(int size = 6) => Rgb(size) with { ImageChannels = 1, Likelihood = LikelihoodKind.Binary };

    public static LocallyMaskedPixelCnn Create(PixelCnnConfig config, int seed = 0)
    {
        manual_seed(seed);
        return new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
    }

    /// <summary>Random images on the bin centres of the config's bit depth (binary: -1 / +1).</summary>
    public static Tensor Images(PixelCnnConfig config, int count, int seed = 1)
    {
        manual_seed(seed);
        int levels = config.Likelihood == LikelihoodKind.Binary ? 2 : (int)Math.Pow(2, config.Bits);
        var index = randint(0, levels, new long[] { count, config.ImageChannels, config.Height, config.Width }, dtype: ScalarType.Float64);
        return index * 2.0 / (levels - 1) - 1.0;
    }
}
