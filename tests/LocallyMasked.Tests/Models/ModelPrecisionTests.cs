using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

/// <summary>
/// Both models evaluated in another compute precision (<see cref="IAutoregressiveImageModel.WithPrecision"/>): the same
/// module and parameters, likelihoods close to float32's (bf16 moves them by a fraction of a percent), the model itself
/// for float32, float64 models refused, and the view owning nothing.
/// </summary>
public sealed class ModelPrecisionTests
{
    public static TheoryData<string> Models() => new() { "lmconv", "pixelcnn++" };

    [Theory]
    [MemberData(nameof(Models))]
    public void ABFloat16ViewSharesTheParametersAndItsLikelihoodsStayCloseToFloat32(string kind)
    {
        using var scope = NewDisposeScope();
        using var model = Create(kind, ScalarType.Float32);
        var config = model.Configuration;
        var x = TinyModels.Images(TinyModels.Rgb(8), 3).to(ScalarType.Float32);
        var orders = model.SupportedOrders ?? GenerationOrders.SCurve(config.Height, config.Width).Variants().Take(3).ToArray();
        var view = model.WithPrecision(ComputePrecision.BFloat16Mixed);

        view.Precision.Should().Be(ComputePrecision.BFloat16Mixed);
        model.Precision.Should().Be(ComputePrecision.Float32);
        view.Module.Should().BeSameAs(model.Module);
        (view.Kind, view.Configuration, view.DType, view.Likelihood).Should().Be((model.Kind, model.Configuration, model.DType, model.Likelihood));
        model.WithPrecision(ComputePrecision.Float32).Should().BeSameAs(model);
        view.WithPrecision(ComputePrecision.Float32).Should().BeSameAs(model);

        var full = model.PerOrderLogLikelihoods(x, orders);
        var mixed = view.PerOrderLogLikelihoods(x, orders);
        mixed.dtype.Should().Be(ScalarType.Float32);
        // A few hundred nats per image; bf16 products move those of this untrained model by up to about half a percent, those
        // of trained models by less (docs/benchmarks.md).
        var relative = ((mixed - full).abs() / full.abs()).max().item<float>();
        relative.Should().BeInRange(1e-7f, 1e-2f);
        var ensemble = view.EnsembleLogLikelihood(x, orders);
        ((ensemble - model.EnsembleLogLikelihood(x, orders)).abs() / ensemble.abs()).max().item<float>().Should().BeLessThan(1e-2f);

        // Training the view trains the model: the gradient reaches the model's float32 parameters.
        var loss = -view.LogLikelihood(x, orders[0]).mean();
        loss.backward();
        model.Module.parameters().Select(p => p.grad?.dtype).Should().OnlyContain(t => t == ScalarType.Float32);

        view.Dispose();
        model.LogLikelihood(x, orders[0]).shape.Should().Equal(3L);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void BFloat16OfAFloat64ModelIsAnErrorNamingThePrecision(string kind)
    {
        using var model = Create(kind, ScalarType.Float64);
        var act = () => model.WithPrecision(ComputePrecision.BFloat16Mixed);
        act.Should().Throw<ArgumentException>().WithParameterName("precision").WithMessage("*bf16-mixed*Float64*");
    }

    private static IAutoregressiveImageModel Create(string kind, ScalarType dtype)
    {
        manual_seed(21);
        return kind == "lmconv"
            ? new LocallyMaskedPixelCnn(TinyModels.Rgb(8), dtype: dtype)
            : new PixelCnnPlusPlus(new PixelCnnPlusPlusConfig { Height = 8, Width = 8, Filters = 8, ResidualBlocks = 1, MixtureComponents = 2 }, dtype: dtype);
    }
}
