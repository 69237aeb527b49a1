using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Training;

public sealed class NaiveSamplerTests
{
    private static LocallyMaskedPixelCnn Model(PixelCnnConfig config)
    {
        torch.manual_seed(21);
        return new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
    }

    [Fact]
    public void SamplingWithASeedIsReproducibleAndSeedsDiffer()
    {
        using var model = Model(PixelCnnTrainingTests.TinyBinary(5));
        var order = GenerationOrders.SCurve(5, 5).Transform(OrderSymmetry.Transpose);
        using var a = NaiveSampler.Sample(model, order, 3, seed: 9);
        using var b = NaiveSampler.Sample(model, order, 3, seed: 9);
        using var c = NaiveSampler.Sample(model, order, 3, seed: 10);
        a.shape.Should().Equal(3, 1, 5, 5);
        a.allclose(b, 0, 0).Should().BeTrue();
        a.allclose(c, 0, 0).Should().BeFalse();
        a.data<double>().ToArray().Should().OnlyContain(v => v == 1.0 || v == -1.0);
    }

    [Theory]
    [InlineData("binary")]
    [InlineData("grey")]
    public void CompletionNeverChangesAnObservedPixel(string head)
    {
        var config = head == "binary"
            ? PixelCnnTrainingTests.TinyBinary(6)
            : PixelCnnConfig.GreyMnist with { Height = 6, Width = 6, Filters = 6, ResidualBlocks = 1, MixtureComponents = 2 };
        using var model = Model(config);
        var region = ImageRegion.Box(6, 6, 1, 2, 3, 3);
        var generator = new Generator(4);
        using var images = head == "binary"
            ? rand(new long[] { 2, 1, 6, 6 }, generator: generator, dtype: ScalarType.Float64).gt(0.5).to_type(ScalarType.Float64) * 2 - 1
            : (rand(new long[] { 2, 1, 6, 6 }, generator: generator, dtype: ScalarType.Float64) * 255).round() / 255 * 2 - 1;
        using var done = NaiveSampler.Complete(model, images, region, GenerationOrders.Raster(6, 6), seed: 2);
        var before = images.data<double>().ToArray();
        var after = done.data<double>().ToArray();
        int changed = 0;
        for (int i = 0; i < before.Length; i++)
        {
            int pixel = i % 36;
            if (!region.Contains(pixel)) after[i].Should().Be(before[i], $"pixel {pixel} is observed");
            else if (after[i] != before[i]) changed++;
        }
        changed.Should().BeGreaterThan(0, "the region is generated afresh");
        after.Should().OnlyContain(v => v >= -1 && v <= 1);
    }

    [Fact]
    public void SamplingStepsLeaveNoLiveTensorsBehind()
    {
        using var model = Model(PixelCnnTrainingTests.TinyBinary(4));
        var order = GenerationOrders.Raster(4, 4);
        using var start = zeros(2, 1, 4, 4, dtype: ScalarType.Float64);
        // Warm the model's mask cache for both orders first: cached masks are meant to outlive a call.
        NaiveSampler.Sample(model, order, 1, seed: 1).Dispose();
        NaiveSampler.Complete(model, start, ImageRegion.BottomHalf(4, 4), order, seed: 1).Dispose();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        NaiveSampler.Sample(model, order, 2, seed: 3).Dispose();
        NaiveSampler.Complete(model, start, ImageRegion.BottomHalf(4, 4), order, seed: 3).Dispose();
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(live);
    }
}
