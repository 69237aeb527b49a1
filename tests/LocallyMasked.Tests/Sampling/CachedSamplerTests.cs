using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Layers;

namespace LocallyMasked.Tests.Sampling;

public class CachedSamplerTests
{
    internal static LocallyMaskedPixelCnn TinyModel(LikelihoodKind head, int height = 8, int width = 8, FeatureNormalization norm = FeatureNormalization.Pono, long seed = 7,
        bool maskWeight = false)
    {
        torch.manual_seed(seed);
        var config = new PixelCnnConfig
        {
            ImageChannels = head == LikelihoodKind.RgbLogisticMixture ? 3 : 1,
            Height = height,
            Width = width,
            Filters = 6,
            ResidualBlocks = 1,
            MaxDilation = 2,
            Likelihood = head,
            MixtureComponents = 3,
            Normalization = norm,
            LearnWeightForMasks = maskWeight,
        };
        var model = new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
        model.eval();
        return model;
    }

    internal static GenerationOrder OrderOf(string kind, int h, int w) => kind switch
    {
        "raster" => GenerationOrders.Raster(h, w),
        "scurve" => GenerationOrders.SCurve(h, w),
        "zigzag" => GenerationOrders.ZigZag(h, w),
        "hilbert" => GenerationOrders.Hilbert(h),
        "gilbert" => GenerationOrders.GeneralizedHilbert(h, w),
        "random" => GenerationOrder.FromSequence(h, w, Enumerable.Range(0, h * w).OrderBy(p => (p * 7919 + 13) % 101).ThenBy(p => p)),
        _ => throw new ArgumentException(kind),
    };

    private sealed record Run(Tensor Images, List<(int Step, Tensor Parameters)> Steps);

    private static Run Draw(ImageSampler sampler, Func<ImageSampler, SamplingOptions, Tensor> call, long seed)
    {
        var steps = new List<(int, Tensor)>();
        var options = new SamplingOptions { Seed = seed, StepObserver = (t, p) => steps.Add((t, p.detach().clone().DetachFromDisposeScope())) };
        return new Run(call(sampler, options), steps);
    }

    private static void ShouldMatch(Run cached, Run naive, LikelihoodKind head)
    {
        cached.Steps.Select(s => s.Step).Should().Equal(naive.Steps.Select(s => s.Step));
        for (int i = 0; i < naive.Steps.Count; i++)
        {
            double gap = (cached.Steps[i].Parameters - naive.Steps[i].Parameters).abs().max().item<double>();
            gap.Should().BeLessThan(1e-9, $"the distribution at step {naive.Steps[i].Step}");
        }
        double imageGap = (cached.Images - naive.Images).abs().max().item<double>();
        if (head == LikelihoodKind.RgbLogisticMixture) imageGap.Should().BeLessThan(1e-6);
        else imageGap.Should().Be(0);
    }

    [Theory]
    [InlineData(LikelihoodKind.Binary, "raster")]
    [InlineData(LikelihoodKind.Binary, "scurve")]
    [InlineData(LikelihoodKind.Binary, "zigzag")]
    [InlineData(LikelihoodKind.Binary, "hilbert")]
    [InlineData(LikelihoodKind.Binary, "random")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "scurve")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "hilbert")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "random")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "raster")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "zigzag")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "random")]
    public void Cached_and_naive_samplers_draw_the_same_images(LikelihoodKind head, string orderKind)
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(head);
        var order = OrderOf(orderKind, 8, 8);
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(order, 3, o), 11);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Sample(order, 3, o), 11);
        naive.Steps.Should().HaveCount(64);
        ShouldMatch(cached, naive, head);
    }

    [Theory]
    [InlineData(LikelihoodKind.Binary, "scurve", true)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "hilbert", true)]
    [InlineData(LikelihoodKind.RgbLogisticMixture, "zigzag", true)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, "raster", false)]
    [InlineData(LikelihoodKind.Binary, "random", false)]
    public void Completions_match_and_keep_every_observed_pixel(LikelihoodKind head, string orderKind, bool regionLast)
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(head);
        var region = ImageRegion.Box(8, 8, 2, 1, 4, 5);
        var baseOrder = OrderOf(orderKind, 8, 8);
        var order = regionLast ? baseOrder.WithRegionLast(region.Pixels) : baseOrder;
        var images = head == LikelihoodKind.Binary
            ? torch.rand(2, 1, 8, 8, ScalarType.Float64).gt(0.5).to(ScalarType.Float64) * 2 - 1
            : PixelLikelihood.Quantize(torch.rand(2, model.Config.ImageChannels, 8, 8, ScalarType.Float64) * 2 - 1, 8);

        var naive = Draw(new NaiveSampler(model), (s, o) => s.Complete(images, region, order, o), 5);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Complete(images, region, order, o), 5);
        naive.Steps.Should().HaveCount(region.Pixels.Count);
        ShouldMatch(cached, naive, head);

        var observed = torch.tensor(Enumerable.Range(0, 64).Select(p => region.Contains(p) ? 0.0 : 1.0).ToArray(), new long[] { 1, 1, 8, 8 }, ScalarType.Float64);
        ((cached.Images - images) * observed).abs().max().item<double>().Should().Be(0, "observed pixels are never changed");
    }

    [Theory]
    [InlineData(FeatureNormalization.OrderRescale, false)]
    [InlineData(FeatureNormalization.OrderRescale, true)]
    [InlineData(FeatureNormalization.None, true)]
    [InlineData(FeatureNormalization.WeightNorm, true)]
    [InlineData(FeatureNormalization.Pono, true)]
    public void Every_normalization_and_the_mask_weight_sample_and_complete_exactly(FeatureNormalization norm, bool maskWeight)
    {
        // What depends on the mask itself (the mask weight's term, order rescaling) is read from the masks at each step.
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.GreyLogisticMixture, norm: norm, maskWeight: maskWeight);
        var shared = OrderOf("hilbert", 8, 8);
        ShouldMatch(Draw(new CachedSampler(model), (s, o) => s.Sample(shared, 2, o), 8),
            Draw(new NaiveSampler(model), (s, o) => s.Sample(shared, 2, o), 8), LikelihoodKind.GreyLogisticMixture);

        var perImage = new[] { OrderOf("scurve", 8, 8), OrderOf("random", 8, 8) };
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(perImage, o), 9);
        ShouldMatch(Draw(new CachedSampler(model), (s, o) => s.Sample(perImage, o), 9), naive, LikelihoodKind.GreyLogisticMixture);

        var region = ImageRegion.Centre(8, 8);
        var regionLast = perImage.Select(o => o.WithRegionLast(region.Pixels)).ToArray();
        var images = naive.Images.detach();
        ShouldMatch(Draw(new CachedSampler(model), (s, o) => s.Complete(images, region, regionLast, o), 10),
            Draw(new NaiveSampler(model), (s, o) => s.Complete(images, region, regionLast, o), 10), LikelihoodKind.GreyLogisticMixture);
    }

    [Fact]
    public void Per_image_orders_and_dilation_two_on_a_non_square_image_match()
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.GreyLogisticMixture, height: 7, width: 5, norm: FeatureNormalization.WeightNorm);
        var orders = new[] { OrderOf("gilbert", 7, 5), OrderOf("scurve", 7, 5).Transform(OrderSymmetry.ReflectBoth), OrderOf("random", 7, 5) };
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(orders, o), 3);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Sample(orders, o), 3);
        ShouldMatch(cached, naive, LikelihoodKind.GreyLogisticMixture);

        var region = ImageRegion.BottomHalf(7, 5);
        var images = naive.Images.detach();
        var regionOrders = orders.Select(o => o.WithRegionLast(region.Pixels)).ToArray();
        ShouldMatch(
            Draw(new CachedSampler(model), (s, o) => s.Complete(images, region, regionOrders, o), 4),
            Draw(new NaiveSampler(model), (s, o) => s.Complete(images, region, regionOrders, o), 4),
            LikelihoodKind.GreyLogisticMixture);
    }

    [Fact]
    public void The_traversal_used_by_the_cached_sampler_equals_the_model_forward()
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.RgbLogisticMixture);
        var x = torch.rand(2, 3, 8, 8, ScalarType.Float64) * 2 - 1;
        var masks = model.MasksFor(GenerationOrders.Hilbert(8));
        var expected = model.forward(x, masks);
        var input = torch.cat(new[] { x, torch.ones(2, 1, 8, 8, ScalarType.Float64) }, 1);
        var actual = model.Evaluate(input, new FeatureMapLayers(masks));
        (actual - expected).abs().max().item<double>().Should().BeLessThan(1e-12);
    }

    [Fact]
    public void A_seed_makes_sampling_reproducible_and_temperature_changes_it()
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.GreyLogisticMixture);
        var sampler = new CachedSampler(model);
        var order = GenerationOrders.SCurve(8, 8);
        var a = sampler.Sample(order, 2, new SamplingOptions { Seed = 42 });
        var b = sampler.Sample(order, 2, new SamplingOptions { Seed = 42 });
        var c = sampler.Sample(order, 2, new SamplingOptions { Seed = 42, Temperature = 0.5 });
        a.equal(b).all().item<bool>().Should().BeTrue();
        a.equal(c).all().item<bool>().Should().BeFalse();
        a.abs().max().item<double>().Should().BeLessThanOrEqualTo(1.0);
    }

    [Fact]
    public void The_thread_setting_is_restored_and_does_not_change_the_draws()
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.GreyLogisticMixture);
        var order = GenerationOrders.ZigZag(8, 8);
        int before = torch.get_num_threads();
        var single = new CachedSampler(model).Sample(order, 2, new SamplingOptions { Seed = 9, CpuThreads = 1 });
        torch.get_num_threads().Should().Be(before);
        var unchanged = new CachedSampler(model).Sample(order, 2, new SamplingOptions { Seed = 9, CpuThreads = null });
        single.equal(unchanged).all().item<bool>().Should().BeTrue();
        var bad = () => new CachedSampler(model).Sample(order, 1, new SamplingOptions { CpuThreads = 0 });
        bad.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("options");
    }

    [Fact]
    public void Sampling_leaves_no_live_tensors_behind()
    {
        var model = TinyModel(LikelihoodKind.Binary);
        var order = GenerationOrders.Hilbert(8);
        var region = ImageRegion.Centre(8, 8);
        void Steps()
        {
            using var scope = NewDisposeScope();
            var images = new CachedSampler(model).Sample(order, 2, new SamplingOptions { Seed = 1 });
            new CachedSampler(model).Complete(images, region, order.WithRegionLast(region.Pixels), new SamplingOptions { Seed = 2 });
            new NaiveSampler(model).Complete(images, region, order.WithRegionLast(region.Pixels), new SamplingOptions { Seed = 2 });
        }
        Steps(); // the first call fills the model's mask cache, which is meant to stay
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Steps();
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_their_names()
    {
        using var scope = NewDisposeScope();
        var model = TinyModel(LikelihoodKind.Binary);
        var sampler = new CachedSampler(model);
        var wrongSize = () => sampler.Sample(GenerationOrders.Raster(4, 4), 1);
        wrongSize.Should().Throw<ArgumentException>().WithParameterName("orders");
        var count = () => sampler.Sample(GenerationOrders.Raster(8, 8), 0);
        count.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("count");
        var temperature = () => sampler.Sample(GenerationOrders.Raster(8, 8), 1, new SamplingOptions { Temperature = 0 });
        temperature.Should().Throw<ArgumentOutOfRangeException>();
        var images = torch.ones(2, 1, 8, 8, ScalarType.Float64);
        var region = ImageRegion.TopHalf(8, 8);
        var range = () => sampler.Complete(images * 3, region, GenerationOrders.Raster(8, 8));
        range.Should().Throw<ArgumentException>().WithParameterName("images");
        var orders = () => sampler.Complete(images, region, new[] { GenerationOrders.Raster(8, 8) });
        orders.Should().Throw<ArgumentException>().WithParameterName("orders");
        var otherRegion = () => sampler.Complete(images, ImageRegion.TopHalf(6, 8), GenerationOrders.Raster(8, 8));
        otherRegion.Should().Throw<ArgumentException>().WithParameterName("region");
    }
}
