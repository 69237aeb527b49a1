using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Masks;
using LocallyMasked.Layers;

namespace LocallyMasked.Tests.Models;

public class LocallyMaskedPixelCnnTests
{
    private static IEnumerable<(string Key, long[] Shape)> ExpectedPlainKeys(int f, int c, int r, int m)
    {
        IEnumerable<(string, long[])> Conv(string prefix, int inC, int outC) =>
            new[] { ($"{prefix}.weight", new long[] { outC, inC, 3, 3 }), ($"{prefix}.bias", new long[] { outC }) };
        IEnumerable<(string, long[])> Nin(string prefix, int inC, int outC) => new[]
        {
            ($"{prefix}.lin_a.weight_v", new long[] { outC, inC }), ($"{prefix}.lin_a.weight_g", new long[] { outC, 1 }),
            ($"{prefix}.lin_a.bias", new long[] { outC }),
        };
        var keys = new List<(string, long[])>();
        keys.AddRange(Conv("u_init", c + 1, f));
        for (int s = 0; s < 3; s++)
            for (int b = 0; b < r; b++)
            {
                keys.AddRange(Conv($"up_layers.{s}.u_stream.{b}.conv_input", 2 * f, f));
                keys.AddRange(Conv($"up_layers.{s}.u_stream.{b}.conv_out", 2 * f, 2 * f));
            }
        for (int s = 0; s < 3; s++)
            for (int b = 0; b < (s == 0 ? r : r + 1); b++)
            {
                keys.AddRange(Conv($"down_layers.{s}.u_stream.{b}.conv_input", 2 * f, f));
                keys.AddRange(Conv($"down_layers.{s}.u_stream.{b}.conv_out", 2 * f, 2 * f));
                keys.AddRange(Nin($"down_layers.{s}.u_stream.{b}.nin_skip", 2 * f, f));
            }
        for (int i = 0; i < 2; i++)
        {
            keys.AddRange(Conv($"downsize_u_stream.{i}", f, f));
            keys.AddRange(Conv($"upsize_u_stream.{i}", f, f));
        }
        keys.AddRange(Nin("nin_out", f, m));
        return keys;
    }

    [Theory]
    [InlineData(LikelihoodKind.RgbLogisticMixture, 3, 2, 20)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, 1, 2, 6)]
    [InlineData(LikelihoodKind.Binary, 1, 1, 2)]
    public void State_dict_keys_and_shapes_equal_the_published_layout(LikelihoodKind head, int channels, int blocks, int parameters)
    {
        var config = TinyModels.Rgb(6) with { ImageChannels = channels, Likelihood = head, ResidualBlocks = blocks };
        using var model = TinyModels.Create(config);
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = ExpectedPlainKeys(8, channels, blocks, parameters).ToDictionary(e => e.Key, e => e.Shape);
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (key, shape) in expected) actual[key].Should().Equal(shape, key);
        model.parameters().Should().OnlyContain(p => p.requires_grad);
    }

    [Fact]
    public void Weight_normalization_and_mask_weights_change_the_conv_keys_as_published()
    {
        var config = TinyModels.Grey(6) with { Normalization = FeatureNormalization.WeightNorm, LearnWeightForMasks = true };
        using var model = TinyModels.Create(config);
        var sd = model.state_dict();
        sd.Should().ContainKey("u_init.weight_g").And.ContainKey("u_init.weight_v").And.ContainKey("u_init.mask_weight")
            .And.NotContainKey("u_init.weight");
        sd["u_init.weight_g"].shape.Should().Equal(8, 1, 1, 1);
        sd["up_layers.1.u_stream.0.conv_out.mask_weight"].shape.Should().Equal(16, 3, 3);
    }

    [Theory]
    [InlineData(LikelihoodKind.RgbLogisticMixture, 3)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, 1)]
    [InlineData(LikelihoodKind.Binary, 1)]
    public void Forward_gives_parameters_per_pixel_and_likelihoods_per_pixel_and_image(LikelihoodKind head, int channels)
    {
        var config = TinyModels.Rgb(6) with { ImageChannels = channels, Likelihood = head };
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 2);
        var order = GenerationOrders.SCurve(6, 6);
        model.forward(x, model.MasksFor(order)).shape.Should().Equal(2, config.ParameterChannels, 6, 6);
        var perPixel = model.LogLikelihoodPerPixel(x, order);
        perPixel.shape.Should().Equal(2, 6, 6);
        var perImage = model.LogLikelihood(x, order);
        perImage.shape.Should().Equal(2);
        perImage.allclose(perPixel.sum(new long[] { 1, 2 })).Should().BeTrue();
        (perPixel.max().item<double>() <= 0).Should().BeTrue();
    }

    [Fact]
    public void Shared_and_per_sample_masks_of_the_same_order_give_the_same_result()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 3);
        var order = GenerationOrders.ZigZag(6, 6);
        var shared = model.LogLikelihoodPerPixel(x, order);
        var perSample = model.LogLikelihoodPerPixel(x, new[] { order, order, order });
        perSample.allclose(shared, rtol: 1e-12, atol: 1e-12).Should().BeTrue();
        // And one order per image equals each image evaluated alone.
        var orders = new[] { order, GenerationOrders.Raster(6, 6), order.Transform(OrderSymmetry.Transpose) };
        var mixed = model.LogLikelihood(x, orders);
        for (int i = 0; i < 3; i++)
            mixed[i].item<double>().Should().BeApproximately(model.LogLikelihood(x[i..(i + 1)], orders[i]).item<double>(), 1e-10);
    }

    [Fact]
    public void Masks_are_cached_per_order_and_rebuilt_when_the_model_changes_dtype()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var order = GenerationOrders.SCurve(6, 6);
        var first = model.MasksFor(order);
        model.MasksFor(GenerationOrders.SCurve(6, 6)).Should().BeSameAs(first);
        model.MasksFor(GenerationOrders.Raster(6, 6)).Should().NotBeSameAs(first);
        first.DType.Should().Be(ScalarType.Float64);
        first.First.shape.Should().Equal(9, 36);
        first.IsPerSample.Should().BeFalse();

        using (var scope = NewDisposeScope())
        {
            // Built inside a caller's scope, the cached masks must survive it.
            model.MasksFor(GenerationOrders.ZigZag(6, 6));
        }
        model.MasksFor(GenerationOrders.ZigZag(6, 6)).First.sum().item<double>().Should().BeGreaterThan(0);

        model.to(ScalarType.Float32);
        var rebuilt = model.MasksFor(order);
        rebuilt.Should().NotBeSameAs(first);
        rebuilt.DType.Should().Be(ScalarType.Float32);
        var x = TinyModels.Images(config, 1).to(ScalarType.Float32);
        model.LogLikelihood(x, order).dtype.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void Masks_follow_the_reference_types_and_dilation()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var order = GenerationOrders.Raster(6, 6);
        var masks = model.MasksFor(order);
        int centre = 2 * 6 + 2;
        masks.First[4, centre].item<double>().Should().Be(0.0);
        masks.Undilated[4, centre].item<double>().Should().Be(1.0);
        // Tap (0, 0) at dilation 2 from pixel (2, 2) lands on pixel (0, 0), earlier in raster order.
        masks.Dilated[0, centre].item<double>().Should().Be(1.0);
        masks.Dilated[0, 1 * 6 + 1].item<double>().Should().Be(0.0); // (-1, -1) is padding
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_clear_exceptions()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config);
        var order = GenerationOrders.Raster(6, 6);
        var masks = model.MasksFor(order);
        var good = TinyModels.Images(config, 2);

        Action act = () => model.forward(good * 1.5, masks);
        act.Should().Throw<ArgumentException>().WithParameterName("x").WithMessage("*[-1, 1]*");
        act = () => model.forward(zeros(2, 3, 6, 6, dtype: ScalarType.Float64), masks);
        act.Should().Throw<ArgumentException>().WithParameterName("x").WithMessage("*(N, 1, 6, 6)*");
        act = () => model.forward(zeros(2, 1, 5, 6, dtype: ScalarType.Float64), masks);
        act.Should().Throw<ArgumentException>().WithParameterName("x");
        act = () => model.forward(zeros(2, 1, 6, 6, dtype: ScalarType.Float32), masks);
        act.Should().Throw<ArgumentException>().WithParameterName("x").WithMessage("*dtype*");
        act = () => model.forward(good, model.MasksFor(new[] { order, order, order }));
        act.Should().Throw<ArgumentException>().WithParameterName("masks").WithMessage("*3 orders*2 images*");
        act = () => model.forward(good, MaskSet.Create(order, 5, 2, ScalarType.Float64));
        act.Should().Throw<ArgumentException>().WithParameterName("masks").WithMessage("*kernel 5*");
        act = () => model.forward(good, MaskSet.Create(order, 3, 2, ScalarType.Float32));
        act.Should().Throw<ArgumentException>().WithParameterName("masks").WithMessage("*MasksFor*");
        act = () => model.MasksFor(GenerationOrders.Raster(5, 6));
        act.Should().Throw<ArgumentException>().WithParameterName("order");
        act = () => MaskSet.FromTensors(zeros(9, 36), zeros(9, 35), zeros(9, 36), 6, 6, 3, 2);
        act.Should().Throw<ArgumentException>().WithParameterName("undilated");

        using var binary = TinyModels.Create(TinyModels.Binary(6));
        act = () => binary.LogLikelihood(zeros(1, 1, 6, 6, dtype: ScalarType.Float64), order);
        act.Should().Throw<ArgumentException>().WithMessage("*-1 or +1*");
    }

    [Fact]
    public void Configurations_round_trip_as_json_and_a_version_0_1_mask_weight_is_refused()
    {
        var config = TinyModels.Grey(6) with { Normalization = FeatureNormalization.OrderRescale, LearnWeightForMasks = true, MaxDilation = 3 };
        PixelCnnConfig.FromJson(config.ToJson()).Should().Be(config);
        // 0.1 wrote "LearnMaskWeight" for a mask weight that multiplied the mask; the reference code's adds a term.
        var old = config.ToJson().Replace("\"LearnWeightForMasks\":true", "\"LearnMaskWeight\":true", StringComparison.Ordinal);
        FluentActions.Invoking(() => PixelCnnConfig.FromJson(old)).Should().Throw<InvalidDataException>().WithMessage("*multiplicative*retrain*");
        var oldOff = config.ToJson().Replace("\"LearnWeightForMasks\":true", "\"LearnMaskWeight\":false", StringComparison.Ordinal);
        PixelCnnConfig.FromJson(oldOff).LearnWeightForMasks.Should().BeFalse();
        FluentActions.Invoking(() => PixelCnnConfig.FromJson(config.ToJson().Replace("\"Filters\":8", "\"Filters\":1", StringComparison.Ordinal)))
            .Should().Throw<InvalidDataException>().WithMessage("*Filters*");
        FluentActions.Invoking(() => PixelCnnConfig.FromJson("{not json")).Should().Throw<InvalidDataException>();
    }

    [Fact]
    public void Config_validation_names_the_bad_field()
    {
        var ok = TinyModels.Rgb(6);
        ok.Validate();
        PixelCnnConfig.Cifar10.Validate();
        PixelCnnConfig.BinarizedMnist.Validate();
        PixelCnnConfig.GreyMnist.Validate();
        PixelCnnConfig.CelebAHq64.Validate();
        PixelCnnConfig.Cifar10.Should().Be(new PixelCnnConfig());
        PixelCnnConfig.Cifar10.ParameterChannels.Should().Be(100);
        PixelCnnConfig.Cifar10.Filters.Should().Be(160);

        var cases = new (PixelCnnConfig Config, string Name)[]
        {
            (ok with { ImageChannels = 2 }, "ImageChannels"),
            (ok with { ImageChannels = 1 }, "ImageChannels"),
            (ok with { Height = 0 }, "Height"),
            (ok with { Filters = 1 }, "Filters"),
            (ok with { ResidualBlocks = 0 }, "ResidualBlocks"),
            (ok with { KernelSize = 4 }, "KernelSize"),
            (ok with { MaxDilation = 0 }, "MaxDilation"),
            (ok with { Dropout = 1.0 }, "Dropout"),
            (ok with { MixtureComponents = 0 }, "MixtureComponents"),
            (ok with { Bits = 0 }, "Bits"),
            (ok with { Normalization = (FeatureNormalization)7 }, "Normalization"),
            (ok with { Likelihood = LikelihoodKind.Binary }, "ImageChannels"),
        };
        foreach (var (config, name) in cases)
        {
            Action act = () => config.Validate();
            act.Should().Throw<ArgumentException>().WithParameterName(name);
            Action build = () => new LocallyMaskedPixelCnn(config);
            build.Should().Throw<ArgumentException>().WithParameterName(name);
        }
    }

    [Fact]
    public void Dropout_zeroes_whole_channels_only_in_training()
    {
        var config = TinyModels.Grey(6) with { Dropout = 0.5 };
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 2);
        var order = GenerationOrders.Raster(6, 6);
        model.eval();
        var a = model.LogLikelihood(x, order);
        var b = model.LogLikelihood(x, order);
        a.allclose(b).Should().BeTrue();
        model.train();
        manual_seed(1);
        var c = model.LogLikelihood(x, order);
        c.allclose(a).Should().BeFalse();
    }

    [Fact]
    public void A_training_step_in_a_dispose_scope_leaves_no_live_tensors()
    {
        var config = TinyModels.Rgb(6);
        using var model = TinyModels.Create(config);
        var order = GenerationOrders.SCurve(6, 6);
        var x = TinyModels.Images(config, 2);
        model.MasksFor(order); // the cache is meant to outlive the step
        double Step()
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            var loss = -model.LogLikelihood(x, order).mean();
            loss.backward();
            return loss.item<double>();
        }
        Step();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        double value = Step();
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
        double.IsFinite(value).Should().BeTrue();
        model.parameters().First().grad.Should().NotBeNull();
    }
}
