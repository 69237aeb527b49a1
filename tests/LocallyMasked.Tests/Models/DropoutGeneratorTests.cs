using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

/// <summary>
/// A training pass's dropout draws from the generator passed with the call, for both models: the same seed gives the
/// same output, another seed another, torch's global generator is left alone, and outside training nothing is drawn.
/// </summary>
public sealed class DropoutGeneratorTests
{
    public static TheoryData<string> Models() => new() { "lmconv", "pixelcnn++" };

    [Theory]
    [MemberData(nameof(Models))]
    public void DropoutDrawsOnlyFromTheGeneratorPassed(string kind)
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        using IAutoregressiveImageModel model = kind == "lmconv"
            ? new LocallyMaskedPixelCnn(TinyModels.Binary(8) with { Dropout = 0.5 }, dtype: ScalarType.Float64)
            : new PixelCnnPlusPlus(new PixelCnnPlusPlusConfig
            {
                ImageChannels = 1, Height = 8, Width = 8, Filters = 8, ResidualBlocks = 1, Likelihood = LikelihoodKind.Binary, Dropout = 0.5,
            }, dtype: ScalarType.Float64);
        var x = TinyModels.Images(TinyModels.Binary(8), 3);
        var orders = kind == "lmconv" ? GenerationOrders.SCurve(8, 8).Variants().Take(3).ToArray() : new[] { GenerationOrders.Raster(8, 8) };
        Tensor Pass(ulong seed)
        {
            using var generator = new Generator(seed);
            return model.DistributionParameters(x, orders, generator);
        }

        model.Module.train();
        using var global = Generator.Default;
        var before = global.get_state();
        var a = Pass(3);
        (Pass(3) - a).abs().max().item<double>().Should().Be(0, "the same generator seed draws the same channels");
        (Pass(4) - a).abs().max().item<double>().Should().BeGreaterThan(0, "dropout is on and draws from the generator");
        global.get_state().Equals(before).Should().BeTrue("nothing is drawn from torch's global generator");

        model.Module.eval();
        (Pass(3) - model.DistributionParameters(x, orders)).abs().max().item<double>().Should().Be(0, "outside training there is no dropout");
    }
}
