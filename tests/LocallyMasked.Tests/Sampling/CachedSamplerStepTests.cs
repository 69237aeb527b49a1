using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Sampling;

/// <summary>
/// The cached sampler's step program (one gather and one product per convolution, per-step mask terms, batched skip
/// layers, tables built once per call) against the naive sampler, beyond the cases of <see cref="CachedSamplerTests"/>:
/// other batch sizes, kernels, dilations and biases, completion where images sample and observe at the same step,
/// float32, and the step's bookkeeping.
/// </summary>
public class CachedSamplerStepTests
{
    private static Run Draw(ImageSampler sampler, Func<ImageSampler, SamplingOptions, Tensor> call, long seed)
    {
        var steps = new List<(int, Tensor)>();
        var options = new SamplingOptions { Seed = seed, StepObserver = (t, p) => steps.Add((t, p.detach().clone().DetachFromDisposeScope())) };
        return new Run(call(sampler, options), steps);
    }

    private static double LargestGap(Run cached, Run naive)
    {
        cached.Steps.Select(s => s.Step).Should().Equal(naive.Steps.Select(s => s.Step));
        double gap = 0;
        for (int i = 0; i < naive.Steps.Count; i++)
            gap = Math.Max(gap, (cached.Steps[i].Parameters.to(ScalarType.Float64) - naive.Steps[i].Parameters.to(ScalarType.Float64)).abs().max().item<double>());
        return gap;
    }

    private static LocallyMaskedPixelCnn Model(PixelCnnConfig config, ScalarType dtype = ScalarType.Float64, long seed = 3)
    {
        torch.manual_seed(seed);
        var model = new LocallyMaskedPixelCnn(config, dtype: dtype);
        model.eval();
        return model;
    }

    private static PixelCnnConfig Tiny(LikelihoodKind head, int height = 8, int width = 8) => new()
    {
        ImageChannels = head == LikelihoodKind.RgbLogisticMixture ? 3 : 1,
        Height = height,
        Width = width,
        Filters = 6,
        ResidualBlocks = 1,
        MaxDilation = 2,
        Likelihood = head,
        MixtureComponents = 3,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Other_batch_sizes_match_the_naive_sampler(int batch)
    {
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.GreyLogisticMixture));
        var order = CachedSamplerTests.OrderOf("gilbert", 8, 8);
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(order, batch, o), 21);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Sample(order, batch, o), 21);
        naive.Images.shape.Should().Equal(batch, 1, 8, 8);
        LargestGap(cached, naive).Should().BeLessThan(1e-9);
        (cached.Images - naive.Images).abs().max().item<double>().Should().BeLessThan(1e-6);
    }

    [Theory]
    [InlineData(5, 1, true, 1)]
    [InlineData(5, 3, false, 2)]
    [InlineData(3, 3, false, 1)]
    public void Kernel_sizes_dilations_and_layers_without_bias_match(int kernelSize, int maxDilation, bool bias, int blocks)
    {
        // One dilation for every layer, dilated taps reaching past the image, mm without a bias, more blocks per stage.
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.Binary, 7, 6) with
        {
            KernelSize = kernelSize,
            MaxDilation = maxDilation,
            ConvolutionBias = bias,
            ResidualBlocks = blocks,
            LearnWeightForMasks = !bias,
        });
        var orders = new[] { CachedSamplerTests.OrderOf("random", 7, 6), GenerationOrders.SCurve(7, 6), CachedSamplerTests.OrderOf("random", 7, 6) };
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(orders, o), 2);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Sample(orders, o), 2);
        LargestGap(cached, naive).Should().BeLessThan(1e-9);
        cached.Images.equal(naive.Images).all().item<bool>().Should().BeTrue();
    }

    [Theory]
    [InlineData(FeatureNormalization.Pono)]
    [InlineData(FeatureNormalization.OrderRescale)]
    public void Completion_where_some_images_sample_while_others_observe_matches(FeatureNormalization normalization)
    {
        // Different orders without the region last: at many steps some images generate their pixel and others only
        // pass an observed one through the network, and some steps only observe.
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.RgbLogisticMixture) with { Normalization = normalization, LearnWeightForMasks = true });
        var orders = new[]
        {
            GenerationOrders.Raster(8, 8),
            CachedSamplerTests.OrderOf("random", 8, 8),
            GenerationOrders.Hilbert(8).Transform(OrderSymmetry.Transpose),
        };
        var region = ImageRegion.Box(8, 8, 1, 2, 5, 3);
        var images = PixelLikelihood.Quantize(torch.rand(3, 3, 8, 8, ScalarType.Float64) * 2 - 1, 8);
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Complete(images, region, orders, o), 6);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Complete(images, region, orders, o), 6);
        LargestGap(cached, naive).Should().BeLessThan(1e-9);
        (cached.Images - naive.Images).abs().max().item<double>().Should().BeLessThan(1e-6);

        var observed = torch.tensor(Enumerable.Range(0, 64).Select(p => region.Contains(p) ? 0.0 : 1.0).ToArray(), new long[] { 1, 1, 8, 8 }, ScalarType.Float64);
        ((cached.Images - images) * observed).abs().max().item<double>().Should().Be(0, "observed pixels are never changed");
    }

    [Fact]
    public void A_float32_model_samples_in_float32_and_agrees_with_its_naive_sampler()
    {
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.Binary), ScalarType.Float32);
        var order = GenerationOrders.ZigZag(8, 8);
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(order, 4, o), 5);
        var cached = Draw(new CachedSampler(model), (s, o) => s.Sample(order, 4, o), 5);
        cached.Images.dtype.Should().Be(ScalarType.Float32);
        cached.Steps[0].Parameters.dtype.Should().Be(ScalarType.Float32);
        LargestGap(cached, naive).Should().BeLessThan(1e-4);
        cached.Images.equal(naive.Images).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Float32_and_float64_copies_of_one_model_draw_the_same_images()
    {
        using var scope = NewDisposeScope();
        var config = Tiny(LikelihoodKind.Binary) with { LearnWeightForMasks = true };
        var wide = Model(config);
        var narrow = Model(config, ScalarType.Float32);
        narrow.load_state_dict(wide.state_dict().ToDictionary(e => e.Key, e => e.Value.to(ScalarType.Float32)));
        var orders = new[] { GenerationOrders.SCurve(8, 8), CachedSamplerTests.OrderOf("random", 8, 8) };
        var reference = Draw(new CachedSampler(wide), (s, o) => s.Sample(orders, o), 4);
        var single = Draw(new CachedSampler(narrow), (s, o) => s.Sample(orders, o), 4);
        single.Images.dtype.Should().Be(ScalarType.Float32);
        single.Images.to(ScalarType.Float64).equal(reference.Images).all().item<bool>().Should().BeTrue();
        for (int i = 0; i < reference.Steps.Count; i++)
        {
            double gap = (single.Steps[i].Parameters.to(ScalarType.Float64) - reference.Steps[i].Parameters).abs().max().item<double>();
            gap.Should().BeLessThan(1e-4, $"step {i}");
        }
    }

    [Fact]
    public void Every_step_frees_what_it_creates()
    {
        // One dispose scope per step: the number of live tensors seen from inside a step is the same at every step.
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.Binary) with { LearnWeightForMasks = true, Normalization = FeatureNormalization.OrderRescale });
        var live = new List<long>();
        var options = new SamplingOptions { Seed = 1, StepObserver = (_, _) => live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount) };
        new CachedSampler(model).Sample(new[] { GenerationOrders.Raster(8, 8), GenerationOrders.SCurve(8, 8) }, options);
        live.Should().HaveCount(64);
        // (The first step differs: its first layer sees no tap at all.)
        live.Skip(1).Distinct().Should().ContainSingle("a step that kept a tensor would raise the count at every later step");
        live[0].Should().BeLessThanOrEqualTo(live[1]);
    }

    [Fact]
    public void The_profile_counts_the_steps_and_their_operations()
    {
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.Binary));
        var torchPath = new CachedSampler(model) { Profile = new StepProfile(), UseCpuKernels = false };
        torchPath.Sample(GenerationOrders.Raster(8, 8), 2, new SamplingOptions { Seed = 1 });
        var profile = torchPath.Profile;
        profile.Steps.Should().Be(64);
        // 21 convolutions (the first, 2 in each of 3 + 5 blocks, 4 resampling), one gather each per step except the first
        // layer at the first pixel, which sees nothing; 20 write their input, and the sampled pixels are written once.
        profile.Operations(StepPhase.Gather).Should().Be(64 * 21 - 1);
        profile.Operations(StepPhase.Write).Should().Be(64 * 21);
        profile.Total.Should().BeGreaterThan(TimeSpan.Zero);
        profile.TensorsCreated.Should().BeGreaterThan(0);

        // The CPU loops gather and write without torch operations; the products remain.
        var cpuPath = new CachedSampler(model) { Profile = new StepProfile() };
        cpuPath.Sample(GenerationOrders.Raster(8, 8), 2, new SamplingOptions { Seed = 1 });
        cpuPath.Profile.Operations(StepPhase.Gather).Should().Be(0);
        cpuPath.Profile.Operations(StepPhase.Product).Should().Be(profile.Operations(StepPhase.Product) - 64);
        cpuPath.Profile.Time(StepPhase.Gather).Should().BeGreaterThan(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(LikelihoodKind.RgbLogisticMixture, FeatureNormalization.Pono, false)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, FeatureNormalization.OrderRescale, true)]
    [InlineData(LikelihoodKind.Binary, FeatureNormalization.WeightNorm, true)]
    public void The_torch_operations_path_matches_the_naive_sampler_and_the_cpu_loops(LikelihoodKind head, FeatureNormalization normalization, bool maskWeight)
    {
        // Other devices and dtypes run torch operations between the products; on the CPU both paths must agree with the
        // naive sampler, for shared and per-image orders and for completion.
        using var scope = NewDisposeScope();
        var model = Model(Tiny(head, 7, 6) with { Normalization = normalization, LearnWeightForMasks = maskWeight, ResidualBlocks = 2 });
        var orders = new[] { CachedSamplerTests.OrderOf("random", 7, 6), GenerationOrders.GeneralizedHilbert(7, 6) };
        var naive = Draw(new NaiveSampler(model), (s, o) => s.Sample(orders, o), 12);
        var torchPath = Draw(new CachedSampler(model) { UseCpuKernels = false }, (s, o) => s.Sample(orders, o), 12);
        var cpuPath = Draw(new CachedSampler(model), (s, o) => s.Sample(orders, o), 12);
        LargestGap(torchPath, naive).Should().BeLessThan(1e-9);
        LargestGap(cpuPath, naive).Should().BeLessThan(1e-9);
        (torchPath.Images - naive.Images).abs().max().item<double>().Should().BeLessThan(1e-6);

        var region = ImageRegion.Box(7, 6, 2, 1, 3, 4);
        var images = naive.Images.detach();
        var order = GenerationOrders.SCurve(7, 6).WithRegionLast(region.Pixels);
        var naiveCompletion = Draw(new NaiveSampler(model), (s, o) => s.Complete(images, region, order, o), 13);
        var torchCompletion = Draw(new CachedSampler(model) { UseCpuKernels = false }, (s, o) => s.Complete(images, region, order, o), 13);
        LargestGap(torchCompletion, naiveCompletion).Should().BeLessThan(1e-9);
        (torchCompletion.Images - naiveCompletion.Images).abs().max().item<double>().Should().BeLessThan(1e-6);
    }

    [Fact]
    public void The_torch_operations_path_samples_a_float32_model()
    {
        using var scope = NewDisposeScope();
        var model = Model(Tiny(LikelihoodKind.Binary), ScalarType.Float32);
        var order = GenerationOrders.Hilbert(8);
        var cpuPath = Draw(new CachedSampler(model), (s, o) => s.Sample(order, 3, o), 8);
        var torchPath = Draw(new CachedSampler(model) { UseCpuKernels = false }, (s, o) => s.Sample(order, 3, o), 8);
        LargestGap(torchPath, cpuPath).Should().BeLessThan(1e-4);
        torchPath.Images.equal(cpuPath.Images).all().item<bool>().Should().BeTrue();
    }

    private sealed record Run(Tensor Images, List<(int Step, Tensor Parameters)> Steps);
}
