using LocallyMasked.Models;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// Exact sampling in any order at the cost of about one network pass per image set. In a locally
/// masked network the activations of the t-th pixel of the order, at every layer, depend only on the
/// pixels before it; once those are fixed they are final. So each step evaluates every layer at the
/// next pixel only, from caches of each convolution's input at the earlier pixels.
/// </summary>
/// <remarks>
/// A cache holds a convolution's input only at the pixels already processed and zero elsewhere
/// (including outside the image), so gathering a pixel's k x k neighbourhood from it applies the order's
/// mask by construction: the taps the mask hides are exactly the unprocessed pixels, and the first
/// layer's own pixel is written only after it is sampled. Everything that depends only on the orders (the
/// rows each step reads and writes, the masks' columns) is computed once per call. For completion, one full
/// pass fills the caches for the observed pixels that precede the region; observed pixels later in the order
/// are processed in turn without being sampled.
/// </remarks>
public sealed class CachedSampler : ImageSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="model">The model to sample from.</param>
    /// <param name="precision">The precision of every product of a step (and of the full pass that fills the caches for
    /// a completion); <see cref="ComputePrecision.Float32"/> when null. docs/benchmarks.md says how far bf16 sampling
    /// departs from the naive sampler in bf16.</param>
    /// <exception cref="ArgumentException">A mixed precision for a model whose parameters are not float32.</exception>
    public CachedSampler(LocallyMaskedPixelCnn model, ComputePrecision? precision = null)
        : base(Viewed(model, precision))
    {
        // baseline-integration: the base class holds any IAutoregressiveImageModel; this sampler keeps the typed model.
        Model = model;
        Precision = precision ?? ComputePrecision.Float32;
    }

    /// <summary>The model that is sampled.</summary>
    public new LocallyMaskedPixelCnn Model { get; }

    /// <summary>The precision of the steps' products.</summary>
    public ComputePrecision Precision { get; }

    /// <summary>What the base class samples: the model in the precision.</summary>
    private static IAutoregressiveImageModel Viewed(LocallyMaskedPixelCnn model, ComputePrecision? precision)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.WithPrecision(precision ?? ComputePrecision.Float32);
    }

    private protected override Tensor Run(SamplingPlan plan, SamplingOptions options)
    {
        using var runScope = NewDisposeScope();
        var config = Model.Config;
        var device = Model.Device;
        var tables = StepTables.Create(plan, config.KernelSize, PixelLayers.MaskRoles(config),
            PixelLayers.CountRoles(config), config.MaxDilation, Model.DType, device);
        using var network = PixelLayers.Create(Model, tables, UseCpuKernels, Precision);
        network.Profile = Profile;
        if (plan.FirstStep > 0) FillFromFullPass(plan, network);

        int previousThreads = torch.get_num_threads();
        bool limitThreads = device.type == DeviceType.CPU && options.CpuThreads is int threads && threads != previousThreads;
        if (limitThreads) torch.set_num_threads(options.CpuThreads!.Value);
        try
        {
            Steps(plan, options, network, tables);
        }
        finally
        {
            if (limitThreads) torch.set_num_threads(previousThreads);
        }

        // Every generated pixel is in the first layer's cache; observed pixels after the last step are not.
        var processed = RecordingLayers.Pixels(network.Images, plan.Start.shape).permute(2, 3, 0, 1);
        using var region = tensor(plan.Region, new long[] { 1, 1, config.Height, config.Width }, ScalarType.Bool, device);
        return where(region, processed, plan.Start).MoveToOuterDisposeScope();
    }

    /// <summary>When set, the next calls record where their steps' time goes (benchmarks).</summary>
    internal StepProfile? Profile { get; set; }

    /// <summary>
    /// Whether float32 and float64 models on the CPU run the fused CPU loops between the products (the default) rather than
    /// torch operations, which every other device and dtype uses (tests and benchmarks compare the two).
    /// </summary>
    internal bool UseCpuKernels { get; set; } = true;

    private void Steps(SamplingPlan plan, SamplingOptions options, PixelLayers network, StepTables tables)
    {
        var profile = Profile;
        for (int s = 0; s < tables.Steps; s++)
        {
            long start = 0, created = 0;
            if (profile is not null)
            {
                start = StepProfile.Now();
                created = DisposeScopeManager.Statistics.CreatedInScopeCount;
            }
            long mark, createdInStep;
            using (NewDisposeScope())
            {
                var parameters = network.Evaluate(s);
                mark = profile is null ? 0 : StepProfile.Now();
                if (tables.SampledCount[s] > 0) options.StepObserver?.Invoke(plan.FirstStep + s, parameters);
                // The pixels are final then: later pixels' first layer sees them.
                network.DrawPixels(s, parameters, plan.Uniforms, options.Temperature, Model.Likelihood, ref mark);
                createdInStep = profile is null ? 0 : DisposeScopeManager.Statistics.CreatedInScopeCount - created;
            }
            if (profile is not null)
            {
                profile.Lap(StepPhase.Dispose, ref mark, 0);
                profile.AddStep(start, createdInStep);
            }
        }
    }

    // One full pass over the starting images records every convolution's input; then everything at or after the first
    // generated step is cleared, leaving exactly the activations of the observed prefix.
    private void FillFromFullPass(SamplingPlan plan, PixelLayers network)
    {
        using var scope = NewDisposeScope();
        var config = Model.Config;
        int n = plan.Orders.Count;
        var masks = plan.SharedOrder ? Model.MasksFor(plan.Orders[0]) : Model.MasksFor(plan.Orders);
        var images = plan.Start;
        var input = cat(new[] { images, ones(n, 1, config.Height, config.Width, dtype: images.dtype, device: images.device) }, 1);
        Model.Evaluate(input, new RecordingLayers(masks, network.Caches, Precision));
        RecordingLayers.Record(network.Images, images);

        long pixels = config.PixelCount;
        var keep = new double[n * pixels + 1];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < plan.FirstStep; t++)
                keep[(long)plan.PixelAt(i, t) * n + i] = 1;
        var keepRows = tensor(keep, new long[] { keep.Length, 1 }, images.dtype, images.device);
        network.Images.mul_(keepRows);
        foreach (var cache in network.Caches.Values) cache.mul_(keepRows);
    }
}
