using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// Cached sampling of a whole image set against the naive sampler's cost per generated pixel (one full
/// network pass). A whole naive image set takes H*W such steps; the report command runs it end to end.
/// </summary>
[Config(typeof(InProcessConfig))]
public class SamplingBenchmarks
{
    /// <summary>
    /// In process (BenchmarkDotNet's generated projects would not get the repository's libtorch loading fix);
    /// each iteration is one whole image set, so one warm-up and three measured iterations.
    /// </summary>
    public sealed class InProcessConfig : ManualConfig
    {
        /// <summary>Creates the configuration.</summary>
        public InProcessConfig()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3)
                .WithToolchain(InProcessNoEmitToolchain.Instance));
        }
    }

    private LocallyMaskedPixelCnn _model = null!;
    private GenerationOrder _order = null!;
    private ImageRegion _firstPixels = null!;
    private Tensor _context = null!;

    /// <summary>The model: binary digits or small RGB.</summary>
    [Params("binary", "rgb")]
    public string Model { get; set; } = "binary";

    /// <summary>The generation order.</summary>
    [Params("s-curve", "hilbert")]
    public string Order { get; set; } = "s-curve";

    /// <summary>How many pixels the naive benchmark generates (it scales linearly).</summary>
    public const int NaiveSteps = 16;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        var config = Model == "binary" ? SamplingModels.BinaryDigits : SamplingModels.SmallRgb;
        _model = SamplingModels.Build(config);
        _order = SamplingModels.Order(Order, config);
        _firstPixels = ImageRegion.FromPixels(config.Height, config.Width, _order.Sequence.Take(NaiveSteps));
        _context = zeros(BatchSize, config.ImageChannels, config.Height, config.Width).DetachFromDisposeScope();
    }

    private int BatchSize => Model == "binary" ? 16 : 8;

    /// <summary>A whole image set with the cached sampler.</summary>
    [Benchmark]
    public void CachedWholeImageSet()
    {
        using var scope = NewDisposeScope();
        new CachedSampler(_model).Sample(_order, BatchSize, new SamplingOptions { Seed = 1 });
    }

    /// <summary>The naive sampler's first <see cref="NaiveSteps"/> pixels (one full pass each).</summary>
    [Benchmark]
    public void NaiveFirstPixels()
    {
        using var scope = NewDisposeScope();
        new NaiveSampler(_model).Complete(_context, _firstPixels, _order, new SamplingOptions { Seed = 1 });
    }
}
