using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Sampling;

/// <summary>
/// The cached sampler in bf16-mixed precision. It does not equal the naive sampler in bf16: the two add the same terms
/// but round them to bf16 at other places (a step multiplies only the visible taps, the first layer's channel of ones is a
/// per-step term, the biases are added in float32 after each product), so their distributions differ by bf16 rounding,
/// which the layers carry on. Measured on the drawn images themselves (each step's distribution against the bf16 full
/// pass over the images the sampler drew, so both condition on the same pixels): the difference is of the size of the
/// difference between bf16 and float32 full passes, a few percent of the parameters' range for these untrained models.
/// Sampling therefore stays float32 by default (docs/benchmarks.md).
/// </summary>
public sealed class MixedPrecisionSamplingTests
{
    [Theory]
    [InlineData(LikelihoodKind.Binary, "scurve")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "hilbert")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "random")]
    public void TheCachedSamplerInBFloat16DepartsFromTheBFloat16FullPassAsMuchAsBFloat16DepartsFromFloat32(LikelihoodKind head, string orderKind)
    {
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(head);
        model.to(ScalarType.Float32);
        var order = CachedSamplerTests.OrderOf(orderKind, 8, 8);
        const int count = 4;
        var images = new List<Tensor>();
        foreach (var cpuKernels in new[] { true, false })
        {
            var steps = new List<Tensor>();
            var drawn = new CachedSampler(model, ComputePrecision.BFloat16Mixed) { UseCpuKernels = cpuKernels }.Sample(order, count,
                new SamplingOptions { Seed = 3, StepObserver = (_, p) => steps.Add(p.detach().clone().DetachFromDisposeScope()) });
            drawn.dtype.Should().Be(ScalarType.Float32);
            images.Add(drawn);

            using var noGrad = no_grad();
            var mixed = model.WithPrecision(ComputePrecision.BFloat16Mixed).DistributionParameters(drawn, new[] { order });
            var exact = model.DistributionParameters(drawn, new[] { order });
            var atSteps = mixed.view(count, mixed.shape[1], -1).index_select(2, tensor(order.Sequence.Select(p => (long)p).ToArray()));
            var cachedSteps = stack(steps, 2);
            var scale = atSteps.abs().max().item<float>();
            var samplerGap = (cachedSteps - atSteps).abs().max().item<float>() / scale;
            var precisionGap = ((mixed - exact).abs().max() / exact.abs().max()).item<float>();

            precisionGap.Should().BeInRange(1e-4f, 0.05f, "bf16 full passes stay within a few percent of float32's");
            samplerGap.Should().BeGreaterThan(1e-4f, "the cached sampler rounds to bf16 at other places than the full pass");
            samplerGap.Should().BeLessThan(2 * precisionGap, "its departure is bf16 rounding, of the size of bf16's own");
        }

        (images[0] - images[1]).abs().max().item<float>().Should().BeLessThan(1e-6f, "the CPU loops and the torch operations share the products");
        var again = new CachedSampler(model, ComputePrecision.BFloat16Mixed).Sample(order, count, new SamplingOptions { Seed = 3 });
        again.equal(images[0]).all().item<bool>().Should().BeTrue("bf16 sampling repeats for a seed");
    }

    [Theory]
    [InlineData(LikelihoodKind.Binary, "scurve")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "hilbert")]
    public void TheNaiveSamplerInBFloat16IsTheBFloat16FullPassAtEveryStep(LikelihoodKind head, string orderKind)
    {
        // What the test above compares the cached sampler with: the naive sampler's own steps in bf16 (a full pass over
        // the pixels drawn so far; the pixels not drawn yet are masked out, so the pass over the finished images gives
        // the same distributions up to the order in which bf16 products of zeros are added).
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(head);
        model.to(ScalarType.Float32);
        var order = CachedSamplerTests.OrderOf(orderKind, 8, 8);
        var view = model.WithPrecision(ComputePrecision.BFloat16Mixed);
        var steps = new List<Tensor>();
        var drawn = new NaiveSampler(view).Sample(order, 3,
            new SamplingOptions { Seed = 5, StepObserver = (_, p) => steps.Add(p.detach().clone().DetachFromDisposeScope()) });
        using var noGrad = no_grad();
        var full = view.DistributionParameters(drawn, new[] { order });
        var atSteps = full.view(3, full.shape[1], -1).index_select(2, tensor(order.Sequence.Select(p => (long)p).ToArray()));
        var gap = (stack(steps, 2) - atSteps).abs().max().item<float>() / atSteps.abs().max().item<float>();
        gap.Should().BeLessThan(1e-5f, "the naive sampler's step is the bf16 full pass at that pixel");
    }

    [Fact]
    public void ImageSamplerCreateSamplesAModelViewInItsPrecisionWithEitherSampler()
    {
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(LikelihoodKind.Binary);
        model.to(ScalarType.Float32);
        var view = model.WithPrecision(ComputePrecision.BFloat16Mixed);
        var cached = ImageSampler.Create(SamplerKind.Cached, view);
        cached.Should().BeOfType<CachedSampler>().Which.Precision.Should().Be(ComputePrecision.BFloat16Mixed);
        cached.Model.Precision.Should().Be(ComputePrecision.BFloat16Mixed);
        ImageSampler.Create(SamplerKind.Naive, view).Model.Should().BeSameAs(view);
        new CachedSampler(model).Precision.Should().Be(ComputePrecision.Float32);

        model.to(ScalarType.Float64);
        var act = () => new CachedSampler(model, ComputePrecision.BFloat16Mixed);
        act.Should().Throw<ArgumentException>().WithParameterName("precision");
    }
}
