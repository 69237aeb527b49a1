using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Baseline;

/// <summary>Bad inputs, bad orders, bad configurations and bad state dicts are refused with clear messages.</summary>
public class BaselineValidationTests
{
    private static readonly PixelCnnPlusPlusConfig TinyRgb = new()
    {
        Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2,
    };

    private static PixelCnnPlusPlus Model(PixelCnnPlusPlusConfig? config = null)
    {
        manual_seed(5);
        var model = new PixelCnnPlusPlus(config ?? TinyRgb, dtype: ScalarType.Float64);
        model.eval();
        return model;
    }

    private static Tensor Images(int count = 2) => PixelLikelihood.Quantize(rand(count, 3, 8, 8, dtype: ScalarType.Float64) * 2 - 1, 8);

    [Theory]
    [InlineData(new long[] { 2, 3, 8 })]
    [InlineData(new long[] { 2, 1, 8, 8 })]
    [InlineData(new long[] { 2, 4, 8, 8 })]
    [InlineData(new long[] { 2, 3, 8, 12 })]
    [InlineData(new long[] { 2, 3, 4, 8 })]
    [InlineData(new long[] { 0, 3, 8, 8 })]
    public void Images_of_the_wrong_shape_are_refused(long[] shape)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var x = zeros(shape, dtype: ScalarType.Float64);
        var act = () => model.forward(x);
        act.Should().Throw<ArgumentException>().WithMessage(shape[0] == 0 ? "*at least one image*" : "*(N, 3, 8, 8)*")
            .And.ParamName.Should().Be("x");
        model.Invoking(m => m.LogLikelihood(x)).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-1.0001)]
    [InlineData(double.NaN)]
    public void Pixel_values_outside_minus_one_to_one_are_refused(double value)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var x = Images();
        x[1, 2, 7, 7] = tensor(value, dtype: ScalarType.Float64);
        model.Invoking(m => m.forward(x)).Should().Throw<ArgumentException>().WithMessage("*[-1, 1]*");
        model.Invoking(m => m.LogLikelihood(x)).Should().Throw<ArgumentException>().WithMessage("*[-1, 1]*");
    }

    [Fact]
    public void Images_of_another_dtype_than_the_model_are_refused()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.Invoking(m => m.forward(Images().to(ScalarType.Float32))).Should().Throw<ArgumentException>().WithMessage("*dtype Float64*Float32*");
        model.Invoking(m => m.forward(zeros(1, 3, 8, 8, dtype: ScalarType.Int64))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Only_the_raster_order_of_the_configured_size_is_accepted()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var x = Images();
        var raster = model.LogLikelihood(x, GenerationOrders.Raster(8, 8));
        raster.shape.Should().Equal(2);
        (raster - model.LogLikelihood(x)).abs().max().item<double>().Should().Be(0.0);
        model.LogLikelihoodPerPixel(x, GenerationOrders.Raster(8, 8)).shape.Should().Equal(2, 8, 8);
        model.Order.Should().Be(GenerationOrders.Raster(8, 8));

        foreach (var order in new[] { GenerationOrders.SCurve(8, 8), GenerationOrders.Raster(8, 8).Transform(OrderSymmetry.ReflectRows), GenerationOrders.Hilbert(8) })
        {
            model.Invoking(m => m.LogLikelihood(x, order)).Should().Throw<ArgumentException>()
                .WithMessage("*raster order only*LocallyMaskedPixelCnn*").And.ParamName.Should().Be("order");
            model.Invoking(m => m.LogLikelihoodPerPixel(x, order)).Should().Throw<ArgumentException>().WithMessage("*raster order only*");
        }
        model.Invoking(m => m.LogLikelihood(x, GenerationOrders.Raster(4, 4))).Should().Throw<ArgumentException>().WithMessage("*4x4*8x8*");
        model.Invoking(m => m.LogLikelihood(x, (GenerationOrder)null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Binary_images_must_be_minus_one_or_one()
    {
        using var scope = NewDisposeScope();
        using var model = Model(TinyRgb with { ImageChannels = 1, Likelihood = LikelihoodKind.Binary });
        var x = (rand(2, 1, 8, 8, dtype: ScalarType.Float64).gt(0.5).to(ScalarType.Float64) * 2) - 1;
        model.LogLikelihood(x).shape.Should().Equal(2);
        x[0, 0, 3, 3] = tensor(0.5, dtype: ScalarType.Float64);
        model.Invoking(m => m.LogLikelihood(x)).Should().Throw<ArgumentException>().WithMessage("*-1 or +1*");
    }

    [Theory]
    [InlineData("Height", "*Height*multiple of 4*")]
    [InlineData("Width", "*Width*multiple of 4*")]
    [InlineData("Channels", "*ImageChannels*")]
    [InlineData("Likelihood", "*needs ImageChannels = 3*")]
    [InlineData("Filters", "*Filters*")]
    [InlineData("Blocks", "*ResidualBlocks*")]
    [InlineData("Dropout", "*Dropout*[0, 1)*")]
    [InlineData("Mixtures", "*MixtureComponents*")]
    [InlineData("Bits", "*Bits*")]
    public void Invalid_configurations_are_refused_with_the_field_named(string field, string message)
    {
        var config = field switch
        {
            "Height" => TinyRgb with { Height = 6 },
            "Width" => TinyRgb with { Width = 2 },
            "Channels" => TinyRgb with { ImageChannels = 2 },
            "Likelihood" => TinyRgb with { ImageChannels = 1 },
            "Filters" => TinyRgb with { Filters = 0 },
            "Blocks" => TinyRgb with { ResidualBlocks = 0 },
            "Dropout" => TinyRgb with { Dropout = 1.0 },
            "Mixtures" => TinyRgb with { MixtureComponents = 0 },
            "Bits" => TinyRgb with { Bits = 17 },
            _ => throw new ArgumentException(field),
        };
        config.Invoking(c => c.Validate()).Should().Throw<ArgumentException>().WithMessage(message);
        var build = () => new PixelCnnPlusPlus(config);
        build.Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void The_presets_are_valid_and_the_cifar10_one_is_the_paper_baseline()
    {
        foreach (var preset in new[] { PixelCnnPlusPlusConfig.Cifar10, PixelCnnPlusPlusConfig.GreyMnist, PixelCnnPlusPlusConfig.BinarizedMnist })
            preset.Invoking(p => p.Validate()).Should().NotThrow();
        var cifar = PixelCnnPlusPlusConfig.Cifar10;
        (cifar.ImageChannels, cifar.Height, cifar.Width, cifar.Filters, cifar.ResidualBlocks, cifar.MixtureComponents, cifar.Bits, cifar.Dropout)
            .Should().Be((3, 32, 32, 160, 5, 10, 8, 0.5));
        cifar.ParameterChannels.Should().Be(100);
        PixelCnnPlusPlusConfig.GreyMnist.ParameterChannels.Should().Be(30);
        PixelCnnPlusPlusConfig.BinarizedMnist.ParameterChannels.Should().Be(2);
    }

    [Fact]
    public void A_state_dict_that_does_not_fit_is_refused_whole_with_every_problem_listed()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        using var source = Model();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var stateDict = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone() + 1.0);
        stateDict.Remove("nin_out.lin_a.bias");
        stateDict["u_init.conv.weight_g"] = zeros(5, 1, 1, 1, dtype: ScalarType.Float64);
        stateDict["u_init.conv.weight"] = zeros(4, 4, 2, 3, dtype: ScalarType.Float64);
        stateDict["ul_init.0.conv.bias"] = zeros(new long[] { 4 }, dtype: ScalarType.Int64);

        model.Invoking(m => m.LoadStateDict(stateDict)).Should().Throw<ArgumentException>()
            .WithMessage("*4 problems*missing: nin_out.lin_a.bias*unexpected: u_init.conv.weight*shape: u_init.conv.weight_g is (5, 1, 1, 1)*dtype: ul_init.0.conv.bias*");
        foreach (var (key, value) in model.state_dict())
            (value - before[key]).abs().max().item<double>().Should().Be(0.0, $"{key} must be unchanged");

        // The data-parallel prefix is accepted, values are converted to the model's dtype.
        var good = source.state_dict().ToDictionary(kv => "module." + kv.Key, kv => kv.Value.to(ScalarType.Float32));
        model.LoadStateDict(good);
        foreach (var (key, value) in model.state_dict())
        {
            value.dtype.Should().Be(ScalarType.Float64);
            (value - source.state_dict()[key].to(ScalarType.Float32).to(ScalarType.Float64)).abs().max().item<double>().Should().Be(0.0);
        }
        model.parameters().Should().OnlyContain(p => p.requires_grad);
    }
}
