using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;

namespace LocallyMasked.Benchmarks;

/// <summary>The models and orders of the sampling comparison (issue: fast exact sampling in any order).</summary>
internal static class SamplingModels
{
    /// <summary>Binarized 28x28 digits: 60 filters, 2 blocks per stage (the authors' small MNIST model).</summary>
    public static PixelCnnConfig BinaryDigits => PixelCnnConfig.BinarizedMnist with { Filters = 60, ResidualBlocks = 2 };

    /// <summary>A small RGB 32x32 model: 32 filters, 1 block per stage, 5 mixture components.</summary>
    public static PixelCnnConfig SmallRgb => PixelCnnConfig.Cifar10 with { Filters = 32, ResidualBlocks = 1, MixtureComponents = 5 };

    /// <summary>The model of a name: <c>binary</c> or <c>rgb</c>.</summary>
    public static PixelCnnConfig Config(string name) => name switch
    {
        "binary" => BinaryDigits,
        "rgb" => SmallRgb,
        _ => throw new ArgumentException($"Unknown model {name} (binary, rgb).", nameof(name)),
    };

    /// <summary>Random images of the model's kind (binary pixels -1 / +1, or 8-bit values), from a fixed seed.</summary>
    public static torch.Tensor Images(PixelCnnConfig config, int batch)
    {
        using var generator = new torch.Generator(1);
        using var uniform = torch.rand(new long[] { batch, config.ImageChannels, config.Height, config.Width }, generator: generator);
        return config.Likelihood == LikelihoodKind.Binary
            ? uniform.GreaterThan(0.5).to(torch.ScalarType.Float32).Times(2.0).Minus(1.0)
            : PixelLikelihood.Quantize(uniform.Times(2.0).Minus(1.0), config.Bits);
    }

    public static LocallyMaskedPixelCnn Build(PixelCnnConfig config)
    {
        torch.manual_seed(0);
        var model = new LocallyMaskedPixelCnn(config);
        model.eval();
        return model;
    }

    public static GenerationOrder Order(string name, PixelCnnConfig config) => name switch
    {
        "s-curve" => GenerationOrders.SCurve(config.Height, config.Width),
        "hilbert" => GenerationOrders.GeneralizedHilbert(config.Height, config.Width),
        _ => throw new ArgumentException($"Unknown order {name}.", nameof(name)),
    };

    public static string Describe(PixelCnnConfig c) =>
        $"{(c.Likelihood == LikelihoodKind.Binary ? "binary" : c.ImageChannels == 3 ? "RGB" : "grey")} {c.Height}x{c.Width}, {c.Filters} filters, {c.ResidualBlocks} blocks";
}
