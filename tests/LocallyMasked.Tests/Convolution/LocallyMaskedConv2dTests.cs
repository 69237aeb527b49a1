using LocallyMasked.Convolution;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

public sealed class LocallyMaskedConv2dTests
{
    private static LocallyMaskedConv2d NewLayer(int inChannels, int outChannels, int kernelSize, int dilation, bool maskWeight = false, bool weightNormalization = false, bool bias = true)
        => new(inChannels, outChannels, kernelSize, dilation, bias, maskWeight, weightNormalization, dtype: ScalarType.Float64);

    [Theory]
    [InlineData(7, 5, 1)]
    [InlineData(7, 5, 2)]
    [InlineData(8, 8, 1)]
    [InlineData(8, 8, 2)]
    public void AllOnesMaskEqualsConv2dWithTheSameWeights(int h, int w, int dilation)
    {
        manual_seed(1);
        using var scope = NewDisposeScope();
        // A conv2d's state dict loads unchanged: the weight layout is conv2d's.
        var conv = nn.Conv2d(3, 4, 3, padding: dilation, dilation: dilation, dtype: ScalarType.Float64);
        var layer = NewLayer(3, 4, 3, dilation);
        layer.load_state_dict(conv.state_dict());
        var x = randn(2, 3, h, w, dtype: ScalarType.Float64);
        var mask = ones(9, h * w, dtype: ScalarType.Float64);

        var expected = conv.forward(x);
        var actual = layer.forward(x, mask);

        actual.shape.Should().Equal(2, 4, h, w);
        MaxAbsDifference(actual, expected).Should().BeLessThan(1e-10);
    }

    [Theory]
    [InlineData(7, 5, true)]
    [InlineData(8, 8, true)]
    [InlineData(8, 8, false)]
    public void RasterMaskEqualsConv2dWithPixelCnnWeightMask(int h, int w, bool typeB)
    {
        manual_seed(2);
        using var scope = NewDisposeScope();
        var layer = NewLayer(3, 4, 3, 1);
        var x = randn(2, 3, h, w, dtype: ScalarType.Float64);
        var mask = TestMasks.Tensor(h, w, TestMasks.RasterRanks(h, w), 3, 1, typeB);

        // Classic PixelCNN kernel mask: taps before the centre in raster order, plus the centre for type B.
        var kernelMask = zeros(3, 3, dtype: ScalarType.Float64);
        for (var t = 0; t < 9; t++)
            if (t < 4 || (t == 4 && typeB))
                kernelMask[t / 3, t % 3] = 1.0;
        var weight = layer.get_parameter("weight")!;
        var bias = layer.get_parameter("bias")!;
        var expected = nn.functional.conv2d(x, weight * kernelMask, bias, padding: new long[] { 1, 1 });

        MaxAbsDifference(layer.forward(x, mask), expected).Should().BeLessThan(1e-10);
    }

    [Fact]
    public void StateDictHasThePyTorchKeysAndShapes()
    {
        var plain = NewLayer(3, 5, 3, 1);
        plain.state_dict().Keys.Should().BeEquivalentTo("weight", "bias");
        plain.state_dict()["weight"].shape.Should().Equal(5, 3, 3, 3);
        plain.state_dict()["bias"].shape.Should().Equal(5);

        var full = NewLayer(3, 5, 5, 1, maskWeight: true, weightNormalization: true);
        full.state_dict().Keys.Should().BeEquivalentTo("weight_g", "weight_v", "bias", "mask_weight");
        full.state_dict()["weight_g"].shape.Should().Equal(5, 1, 1, 1);
        full.state_dict()["weight_v"].shape.Should().Equal(5, 3, 5, 5);
        full.state_dict()["mask_weight"].shape.Should().Equal(5, 5, 5);
        full.parameters().Should().HaveCount(4);

        var noBias = NewLayer(3, 5, 3, 2, bias: false);
        noBias.state_dict().Keys.Should().BeEquivalentTo("weight");
        (noBias.InChannels, noBias.OutChannels, noBias.KernelSize, noBias.Dilation).Should().Be((3, 5, 3, 2));
    }

    [Fact]
    public void InitialisationFollowsPyTorchConv2d()
    {
        manual_seed(3);
        // fan_in = 16 * 9: kaiming uniform with a = sqrt(5) and the bias both have bound 1 / sqrt(fan_in).
        var layer = NewLayer(16, 32, 3, 1);
        var bound = 1.0 / Math.Sqrt(16 * 9);
        var weight = layer.get_parameter("weight")!;
        var bias = layer.get_parameter("bias")!;
        weight.abs().max().item<double>().Should().BeLessThanOrEqualTo(bound).And.BeGreaterThan(0.9 * bound);
        bias.abs().max().item<double>().Should().BeLessThanOrEqualTo(bound).And.BeGreaterThan(0.5 * bound);
        // Uniform on [-b, b] has variance b^2 / 3.
        weight.var().item<double>().Should().BeApproximately(bound * bound / 3, 0.1 * bound * bound / 3);

        var normalized = NewLayer(16, 32, 3, 1, maskWeight: true, weightNormalization: true);
        var g = normalized.get_parameter("weight_g")!;
        var v = normalized.get_parameter("weight_v")!;
        // g starts at ||v||, so the effective weight starts equal to v.
        MaxAbsDifference(g.view(-1), v.reshape(32, -1).square().sum(dim: 1).sqrt()).Should().BeLessThan(1e-12);
        MaxAbsDifference(normalized.EffectiveWeight(), v).Should().BeLessThan(1e-12);
        // The mask weight (32, 3, 3) is initialised like a weight (the reference code): fan_in = 3 * 3, bound 1 / 3.
        var maskWeight = normalized.get_parameter("mask_weight")!;
        maskWeight.abs().max().item<double>().Should().BeLessThanOrEqualTo(1.0 / 3).And.BeGreaterThan(0.9 / 3);
        maskWeight.var().item<double>().Should().BeApproximately(1.0 / 27, 0.15 / 27);
    }

    [Fact]
    public void BadArgumentsThrowArgumentExceptionNamingTheArgument()
    {
        using var scope = NewDisposeScope();
        var layer = NewLayer(3, 4, 3, 1);
        var x = randn(2, 3, 7, 5, dtype: ScalarType.Float64);
        var mask = ones(9, 35, dtype: ScalarType.Float64);

        FluentActions.Invoking(() => layer.forward(randn(3, 7, 5, dtype: ScalarType.Float64), mask))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "x" && e.Message.Contains("4-D"));
        FluentActions.Invoking(() => layer.forward(randn(2, 4, 7, 5, dtype: ScalarType.Float64), mask))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "x" && e.Message.Contains("3 input channels"));
        FluentActions.Invoking(() => layer.forward(randn(2, 3, 7, 5, dtype: ScalarType.Float32), mask))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "x" && e.Message.Contains("dtype"));
        FluentActions.Invoking(() => layer.forward(x, ones(25, 35, dtype: ScalarType.Float64)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "mask" && e.Message.Contains("k*k = 9 rows"));
        FluentActions.Invoking(() => layer.forward(x, ones(9, 36, dtype: ScalarType.Float64)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "mask" && e.Message.Contains("H*W = 35 columns"));
        FluentActions.Invoking(() => layer.forward(x, ones(3, 9, 35, dtype: ScalarType.Float64)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "mask" && e.Message.Contains("batch size 2"));
        FluentActions.Invoking(() => layer.forward(x, ones(315, dtype: ScalarType.Float64)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "mask");

        FluentActions.Invoking(() => new LocallyMaskedConv2d(3, 4, kernelSize: 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "kernelSize" && e.Message.Contains("odd"));
        FluentActions.Invoking(() => new LocallyMaskedConv2d(0, 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "inChannels");
        FluentActions.Invoking(() => new LocallyMaskedConv2d(3, 0))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "outChannels");
        FluentActions.Invoking(() => new LocallyMaskedConv2d(3, 4, dilation: 0))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "dilation");
    }

    [Theory]
    [InlineData("s-curve")]
    [InlineData("raster")]
    [InlineData("random")]
    [InlineData("per-sample")]
    [InlineData("learned")]
    public void ForwardAndBackwardInsideADisposeScopeLeaveNoLiveTensors(string kind)
    {
        // One mask per computation path: periodic, dense box, masked columns, per-sample columns, general (mask gradient).
        var layer = NewLayer(3, 4, 3, 1, maskWeight: true, weightNormalization: true);
        var mask = kind switch
        {
            "s-curve" => TestMasks.Tensor(8, 8, TestMasks.SCurveRanks(8, 8), 3, 1, true),
            "raster" => TestMasks.Tensor(8, 8, TestMasks.RasterRanks(8, 8), 3, 1, true),
            "random" => TestMasks.Tensor(8, 8, TestMasks.RandomRanks(8, 8, 7), 3, 1, true),
            "per-sample" => TestMasks.PerSample(8, 8, new[] { TestMasks.SCurveRanks(8, 8), TestMasks.RasterRanks(8, 8) }, 3, 1, true),
            _ => rand(9, 64, dtype: ScalarType.Float64).requires_grad_(true),
        };
        // Warm up once so that lazily created state (such as the mask analysis) is not counted.
        RunStep(layer, mask);
        layer.zero_grad();
        mask.grad?.zero_();

        DisposeScopeManager.Statistics.Reset();
        RunStep(layer, mask);
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(0, DisposeScopeManager.Statistics.ToString());
    }

    [Fact]
    public void AMaskThatSeesNothingGivesTheBias()
    {
        manual_seed(4);
        using var scope = NewDisposeScope();
        var layer = NewLayer(3, 4, 3, 2);
        var x = randn(2, 3, 7, 5, dtype: ScalarType.Float64, requires_grad: true);
        var output = layer.forward(x, zeros(9, 35, dtype: ScalarType.Float64));
        var bias = layer.get_parameter("bias")!;
        MaxAbsDifference(output, bias.view(1, 4, 1, 1).expand(2, 4, 7, 5)).Should().Be(0.0);
        output.sum().backward();
        MaxAbsDifference(bias.grad!, full(4, 70.0, dtype: ScalarType.Float64)).Should().BeLessThan(1e-12);
    }

    private static void RunStep(LocallyMaskedConv2d layer, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 8, 8, dtype: ScalarType.Float64, requires_grad: true);
        var loss = layer.forward(x, mask).square().sum();
        loss.backward();
        x.grad.Should().NotBeNull();
    }

    internal static double MaxAbsDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).abs().max().item<double>();
    }
}
