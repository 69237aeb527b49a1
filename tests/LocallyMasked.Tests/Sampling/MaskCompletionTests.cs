using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Sampling;

/// <summary>Completion of the pixels a mask tensor marks: any pixel set, the order from the mask, checked arguments.</summary>
public class MaskCompletionTests
{
    /// <summary>An irregular (H, W) set: a ring and a diagonal scratch, nothing like a box.</summary>
    private static bool[] Scratch(int h, int w) => Enumerable.Range(0, h * w).Select(p =>
    {
        int r = p / w, c = p % w;
        double d = Math.Sqrt((r - 3.5) * (r - 3.5) + (c - 3.5) * (c - 3.5));
        return (d > 1.5 && d < 2.6) || r == c;
    }).ToArray();

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private static Tensor MaskOf(bool[] set, int h, int w) => tensor(set, new long[] { h, w });

    private static Tensor ImagesFor(IAutoregressiveImageModel model, int count)
    {
        var config = model.Configuration;
        manual_seed(21);
        return config.Likelihood == LikelihoodKind.Binary
            ? rand(count, 1, config.Height, config.Width, ScalarType.Float64).gt(0.5).to(ScalarType.Float64) * 2 - 1
            : PixelLikelihood.Quantize(rand(count, config.ImageChannels, config.Height, config.Width, ScalarType.Float64) * 2 - 1, 8);
    }

    [Theory]
    [InlineData(LikelihoodKind.Binary, "scurve")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "hilbert")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "random")]
    public void A_mask_completion_keeps_observed_pixels_bit_for_bit_and_draws_the_missing_ones_last(LikelihoodKind head, string orderKind)
    {
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(head);
        var set = Scratch(8, 8);
        int missing = set.Count(m => m), observed = 64 - missing;
        var images = ImagesFor(model, 3);
        var sampler = new CachedSampler(model);
        var baseOrder = CachedSamplerTests.OrderOf(orderKind, 8, 8);

        // The order from the mask: every missing pixel after every observed one.
        var order = sampler.CompletionOrder(baseOrder, ImageRegion.FromMask(MaskOf(set, 8, 8)));
        Enumerable.Range(0, 64).Where(p => !set[p]).Max(order.RankOf).Should().Be(observed - 1);
        Enumerable.Range(0, 64).Where(p => set[p]).Min(order.RankOf).Should().Be(observed);

        var steps = new List<int>();
        var completed = sampler.Complete(images, MaskOf(set, 8, 8), baseOrder, new SamplingOptions { Seed = 9, StepObserver = (t, _) => steps.Add(t) });
        steps.Should().Equal(Enumerable.Range(observed, missing), "each missing pixel is drawn at a step after every observed pixel's rank");

        var keep = tensor(set.Select(m => m ? 0.0 : 1.0).ToArray(), new long[] { 1, 1, 8, 8 }, ScalarType.Float64);
        Same(completed.masked_select(keep.expand_as(completed).to_type(ScalarType.Bool)),
            images.masked_select(keep.expand_as(images).to_type(ScalarType.Bool))).Should().BeTrue("observed pixels are kept exactly");
        var changed = completed.ne(images).any(dim: 1).to_type(ScalarType.Float64) * (1.0 - keep.squeeze(1));
        changed.sum().item<double>().Should().BeGreaterThan(0, "some missing pixel differs from the input (the input there is ignored)");

        // The same as the region API with the region-last order, drawn independently; and the naive sampler agrees.
        var region = ImageRegion.FromPixels(8, 8, Enumerable.Range(0, 64).Where(p => set[p]));
        var viaRegion = new CachedSampler(model).Complete(images, region, baseOrder.WithRegionLast(region.Pixels), new SamplingOptions { Seed = 9 });
        Same(completed, viaRegion).Should().BeTrue();
        var naive = new NaiveSampler(model).Complete(images, MaskOf(set, 8, 8), baseOrder, new SamplingOptions { Seed = 9 });
        (naive - completed).abs().max().item<double>().Should().BeLessThan(head == LikelihoodKind.RgbLogisticMixture ? 1e-6 : 1e-300);
    }

    [Fact]
    public void A_mask_of_only_missing_pixels_samples_whole_images_as_sample_does()
    {
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(LikelihoodKind.Binary);
        var sampler = new CachedSampler(model);
        var order = GenerationOrders.SCurve(8, 8);
        var completed = sampler.Complete(ImagesFor(model, 2), ones(8, 8, ScalarType.Bool), order, new SamplingOptions { Seed = 4 });
        Same(completed, sampler.Sample(order, 2, new SamplingOptions { Seed = 4 })).Should().BeTrue();
    }

    [Fact]
    public void A_raster_only_model_completes_a_mask_in_raster_order_and_keeps_observed_pixels()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new PixelCnnPlusPlus(new PixelCnnPlusPlusConfig
        {
            ImageChannels = 1, Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, Likelihood = LikelihoodKind.Binary,
        }, dtype: ScalarType.Float64);
        var sampler = new NaiveSampler(model);
        var raster = GenerationOrders.Raster(8, 8);
        var set = Scratch(8, 8);
        var region = ImageRegion.FromMask(MaskOf(set, 8, 8));
        sampler.CompletionOrder(raster, region).Should().Be(raster, "PixelCNN++ has one order; the missing pixels keep their raster ranks");
        var refused = () => sampler.CompletionOrder(GenerationOrders.SCurve(8, 8), region);
        refused.Should().Throw<ArgumentException>().WithParameterName("order");

        var images = ImagesFor(model, 2);
        var steps = new List<int>();
        var completed = sampler.Complete(images, MaskOf(set, 8, 8), raster, new SamplingOptions { Seed = 3, StepObserver = (t, _) => steps.Add(t) });
        steps.Should().Equal(Enumerable.Range(0, 64).Where(p => set[p]), "the missing pixels are drawn at their raster steps");
        var keep = tensor(set.Select(m => !m).ToArray(), new long[] { 1, 1, 8, 8 }).expand_as(images);
        Same(completed.masked_select(keep), images.masked_select(keep)).Should().BeTrue();
    }

    [Fact]
    public void The_completion_docs_example_runs_as_written()
    {
        // docs/completion.md, "In the library", at 8x8 instead of 28x28 (the slices scaled).
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(LikelihoodKind.Binary);
        var images = ImagesFor(model, 2);
        var sampler = new CachedSampler(model);
        var missing = zeros(8, 8, ScalarType.Bool);
        missing[TensorIndex.Slice(3, 6), TensorIndex.Slice(1, 7)] = tensor(true);
        var completed = sampler.Complete(images, missing, GenerationOrders.SCurve(8, 8), new SamplingOptions { Seed = 1 });
        var order = sampler.CompletionOrder(GenerationOrders.SCurve(8, 8), ImageRegion.FromMask(missing));
        order.Sequence.Skip(64 - 18).Should().BeEquivalentTo(Enumerable.Range(3, 3).SelectMany(r => Enumerable.Range(8 * r + 1, 6)));
        var keep = missing.logical_not().expand_as(images);
        Same(completed.masked_select(keep), images.masked_select(keep)).Should().BeTrue();
    }

    [Fact]
    public void Bad_masks_are_refused_naming_the_mask()
    {
        using var scope = NewDisposeScope();
        var model = CachedSamplerTests.TinyModel(LikelihoodKind.Binary);
        var sampler = new CachedSampler(model);
        var images = ImagesFor(model, 1);
        var order = GenerationOrders.Raster(8, 8);
        var size = () => sampler.Complete(images, ones(6, 8, ScalarType.Bool), order);
        size.Should().Throw<ArgumentException>().WithParameterName("missing").WithMessage("*6x8*8x8*");
        var none = () => sampler.Complete(images, zeros(8, 8, ScalarType.Bool), order);
        none.Should().Throw<ArgumentException>().WithParameterName("missing").WithMessage("*no pixel*nothing to complete*");
        var grey = () => sampler.Complete(images, full(8, 8, 0.5, ScalarType.Float64), order);
        grey.Should().Throw<ArgumentException>().WithParameterName("missing").WithMessage("*0.5*");
        var batch = () => sampler.Complete(images, ones(1, 8, 8, ScalarType.Bool), order);
        batch.Should().Throw<ArgumentException>().WithParameterName("missing");
        var otherImages = () => sampler.Complete(ones(1, 1, 6, 6, ScalarType.Float64), ones(8, 8, ScalarType.Bool), order);
        otherImages.Should().Throw<ArgumentException>().WithParameterName("images");
        var otherRegion = () => sampler.CompletionOrder(order, ImageRegion.TopHalf(6, 8));
        otherRegion.Should().Throw<ArgumentException>().WithParameterName("region");
    }
}
