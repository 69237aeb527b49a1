using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// A whole image set with the cached sampler against one full forward pass of the same model at the same batch (the
/// unit of the sampling targets: at most 4 passes per image set at batch 16, at most 2 at batch 64). The
/// <c>sampling-report</c> command prints the same comparison with the ratios and a profile of the steps.
/// </summary>
[Config(typeof(InProcessConfig))]
public class SamplingBenchmarks
{
    /// <summary>
    /// In process (BenchmarkDotNet's generated projects would not get the repository's libtorch loading fix);
    /// an image set takes seconds, so one warm-up and three measured iterations.
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
    private MaskSet _masks = null!;
    private Tensor _images = null!;

    /// <summary>The model: binary digits or small RGB.</summary>
    [Params("binary", "rgb")]
    public string Model { get; set; } = "binary";

    /// <summary>The generation order.</summary>
    [Params("s-curve", "hilbert")]
    public string Order { get; set; } = "s-curve";

    /// <summary>Images per set (and per full pass).</summary>
    [Params(16, 64)]
    public int Batch { get; set; } = 16;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        var config = SamplingModels.Config(Model);
        _model = SamplingModels.Build(config);
        _order = SamplingModels.Order(Order, config);
        _masks = _model.MasksFor(_order);
        _images = SamplingModels.Images(config, Batch).DetachFromDisposeScope();
    }

    /// <summary>One forward pass of the whole network over the batch (all cores).</summary>
    [Benchmark(Baseline = true)]
    public void FullPass()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.forward(_images, _masks);
    }

    /// <summary>A whole image set with the cached sampler (its default settings).</summary>
    [Benchmark]
    public void CachedImageSet()
    {
        using var scope = NewDisposeScope();
        new CachedSampler(_model).Sample(_order, Batch, new SamplingOptions { Seed = 1 });
    }
}
