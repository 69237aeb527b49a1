using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Tests.Documentation;

/// <summary>The usage examples of the README and docs/library.md, line for line, at a size that runs in seconds.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void The_readme_example_runs_and_its_numbers_hold()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        const int side = 8; // the README uses 28

        var order = GenerationOrders.SCurve(side, side);
        using var mask = LocalMasks.Create(order, kernelSize: 3, dilation: 1, MaskType.B);
        var conv = new LocallyMasked.Convolution.LocallyMaskedConv2d(inChannels: 16, outChannels: 32);
        var y = conv.forward(randn(8, 16, side, side), mask);
        y.shape.Should().Equal(8, 32, side, side);

        var config = PixelCnnConfig.BinarizedMnist with { Height = side, Width = side, Filters = 8, ResidualBlocks = 1 };
        var model = new LocallyMaskedPixelCnn(config);
        var orders = order.Variants();
        var images = rand(4, 1, side, side).gt(0.5).to(ScalarType.Float32) * 2 - 1;
        var nats = -model.EnsembleLogLikelihood(images, orders);
        nats.shape.Should().Equal(4);
        // A mixture of orders is never less likely than its least likely member.
        var perOrder = orders.Select(o => -model.LogLikelihood(images, o)).ToArray();
        var worst = stack(perOrder, 1).max(dim: 1).values;
        (nats - worst).max().item<float>().Should().BeLessThanOrEqualTo(1e-4f);

        var sampler = new CachedSampler(model);
        var samples = sampler.Sample(GenerationOrders.GeneralizedHilbert(side, side), count: 16, new SamplingOptions { Seed = 1 });
        samples.abs().eq(1).all().item<bool>().Should().BeTrue("binary samples are -1 or +1");
        var top = ImageRegion.TopHalf(side, side);
        var completed = sampler.Complete(images, top, orders[1].WithRegionLast(top.Pixels));
        completed[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(side / 2)].equal(images[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(side / 2)])
            .all().item<bool>().Should().BeTrue("the bottom half is observed");
    }

    [Fact]
    public void The_readme_baseline_example_runs()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(4);
        const int side = 8; // the README uses 28
        var images = rand(4, 1, side, side).gt(0.5).to(ScalarType.Float32) * 2 - 1;

        var baselineConfig = PixelCnnPlusPlusConfig.BinarizedMnist with { Height = side, Width = side, Filters = 15, ResidualBlocks = 1 };
        using var baseline = new PixelCnnPlusPlus(baselineConfig);
        IAutoregressiveImageModel any = baseline;
        var raster = any.SupportedOrders![0];
        raster.Should().Be(GenerationOrders.Raster(side, side));
        var baselineNats = -any.LogLikelihood(images, raster);
        baselineNats.shape.Should().Equal(4);
        any.Invoking(m => m.LogLikelihood(images, GenerationOrders.SCurve(side, side))).Should().Throw<ArgumentException>();
        var drawn = new NaiveSampler(any).Sample(raster, count: 4, new SamplingOptions { Seed = 1 });
        drawn.abs().eq(1).all().item<bool>().Should().BeTrue("binary samples are -1 or +1");
    }
}
