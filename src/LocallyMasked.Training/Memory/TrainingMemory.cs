using LocallyMasked.Models;
using LocallyMasked.Numerics;

namespace LocallyMasked.Training.Memory;

/// <summary>
/// Estimates the peak memory of training a model configuration on the CPU before anything is allocated, so that a
/// configuration that cannot fit (a batch of 8,000 images, 100,000 mixture components, 100,000 residual blocks) is refused
/// in words instead of ending in the kernel's out-of-memory kill. The estimate is a sum of parts (<see cref="TrainingMemoryEstimate"/>),
/// each a count from the configuration's shapes (parameters exactly, <see cref="ModelSize"/>; feature maps as filters x
/// full-resolution blocks x pixels x batch) times a coefficient: how many values of that size the implementation keeps at
/// its peak. The coefficients were fitted to the peak resident memory (GNU time's maximum RSS) of 28 three-step training
/// runs of the program on the CPU, of both models (filters 8 to 256, blocks 1 to 4, batches 1 to 256, 28x28 to 64x64 grey
/// and RGB images, 2 to 300 parameter channels, one order or eight per image): the estimate is within 13 % of each
/// (docs/limits.md lists the runs and the script; the tests hold the table), and <see cref="TrainingMemoryEstimate.Accuracy"/>
/// states 20 %. CUDA runs keep the activations on the device, which the estimate does not cover.
/// </summary>
public static class TrainingMemory
{
    /// <summary>
    /// The .NET runtime, libtorch and the program before any model: fitted, 280 MB, less the 16 MB that the 10,000
    /// embedded digits of most calibration runs count for in <see cref="TrainingMemoryEstimate.Data"/>.
    /// </summary>
    public const long RuntimeBytes = 264_000_000;

    /// <summary>
    /// Copies of the parameters a training run holds at its peak (weights, gradients per shard, Adam's moments and
    /// temporaries, a checkpoint being serialized): fitted, 14.
    /// </summary>
    public const double ParameterCopies = 14;

    /// <summary>
    /// Values kept per filter, residual block and pixel by a training step of the locally masked PixelCNN whose images
    /// share one order (masked columns of both convolutions of a block, concat-ELU, normalization, gates): fitted, 29.
    /// </summary>
    public const double LocallyMaskedValues = 29;

    /// <summary>The factor when each image of a batch has its own order (per-sample masks, gathered columns): fitted, 1.4.</summary>
    public const double PerImageOrderFactor = 1.4;

    /// <summary>Values kept per filter, full-resolution block and pixel by a training step of PixelCNN++: fitted, 30.</summary>
    public const double BaselineValues = 30;

    /// <summary>Values kept per parameter channel and pixel (the output head and the likelihood's intermediates): fitted, 8.</summary>
    public const double ParameterChannelValues = 8;

    /// <summary>
    /// Values held per filter, block and pixel for each image x order pair of an evaluation pass with several orders:
    /// fitted, 28 (divided by <see cref="PerImageOrderFactor"/> with one order).
    /// </summary>
    public const double EvaluationValues = 28;

    /// <summary>
    /// What oneDNN's cache of bfloat16 kernels holds once a bf16-mixed run has filled it, as a multiple of
    /// <see cref="TrainingMemoryEstimate.TrainingStep"/>: 2.2, an allowance rather than a fit: the largest ratio measured plus
    /// a tenth (1.0-2.0 in long runs at 16, 32 and 48 filters, docs/limits.md). libtorch runs the bf16 products through
    /// oneDNN, which keeps up to 1,024 kernels, one per shape; the per-image orders' plans give the products many shapes,
    /// so the cache fills within the first hundred or so steps and then stays. Three-step runs do not show it.
    /// </summary>
    public const double BFloat16KernelCacheFactor = 2.2;

    /// <summary>
    /// The peak memory of training <paramref name="config"/> with <paramref name="options"/> on the CPU, including the
    /// kernel cache of a bf16-mixed run (<see cref="TrainerOptions.Precision"/>).
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    /// <param name="options">The batch size, how orders are drawn, the weight average and the periodic evaluations.</param>
    /// <param name="orders">How many orders the model is trained on.</param>
    /// <param name="dataBytes">The images held in memory, both splits (bytes, one per value).</param>
    /// <param name="evaluationBatch">Image x order pairs per pass of the final evaluation (0: none).</param>
    /// <param name="elementSize">Bytes per value of the model's dtype: 4 (float32) or 8 (float64).</param>
    /// <exception cref="ArgumentException">A count out of range.</exception>
    /// <exception cref="OverflowException">A configuration whose memory a long cannot count.</exception>
    public static TrainingMemoryEstimate Estimate(IImageModelConfig config, TrainerOptions options, int orders, long dataBytes,
        int evaluationBatch = 64, int elementSize = 4)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(orders, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(dataBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(evaluationBatch);
        if (elementSize is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "Expected 4 (float32) or 8 (float64).");
        bool locallyMasked = config is PixelCnnConfig;
        double pixels = (double)config.Height * config.Width;
        double blocks = ModelSize.FullResolutionBlocks(config) * config.Filters;
        double head = ParameterChannelValues * config.ParameterChannels;
        double shared = locallyMasked ? LocallyMaskedValues : BaselineValues;
        bool perImage = locallyMasked && orders > 1 && options.OrderSampling == OrderSampling.PerImage;
        double step = options.BatchSize * pixels * elementSize * ((perImage ? shared * PerImageOrderFactor : shared) * blocks + head);
        // The final evaluation runs pairs of images and orders (each pair its own masks with several orders); the periodic
        // ones run batches of the training size in the first order.
        double pairValues = locallyMasked ? EvaluationValues / (orders > 1 ? 1 : PerImageOrderFactor) : BaselineValues;
        double final = evaluationBatch * pixels * elementSize * (pairValues * blocks + head);
        double periodic = options.EvaluateEvery > 0 ? options.BatchSize * pixels * elementSize * (EvaluationValues / PerImageOrderFactor * blocks + head) : 0;
        double copies = ParameterCopies + (options.EmaDecay is null ? 0 : 1);
        int k = config is PixelCnnConfig c ? c.KernelSize : 3;
        // Three masks per order (type A, type B, dilated type B) and their convolution plans' indices.
        double caches = locallyMasked ? orders * 3.0 * k * k * pixels * (elementSize + 8) : 0;
        bool bfloat16 = options.Precision == ComputePrecision.BFloat16Mixed;
        return new TrainingMemoryEstimate
        {
            Runtime = RuntimeBytes,
            Parameters = Bytes(ModelSize.ParameterCount(config) * (double)elementSize * copies),
            TrainingStep = Bytes(step),
            KernelCache = bfloat16 ? Bytes(BFloat16KernelCacheFactor * step) : 0,
            Evaluation = Bytes(Math.Max(final, periodic)),
            Data = checked(2 * dataBytes),
            Caches = Bytes(caches),
        };
    }

    private static long Bytes(double value) =>
        double.IsFinite(value) && value < long.MaxValue / 4.0 ? (long)Math.Ceiling(value) : throw new OverflowException($"{value:G3} bytes do not fit a long.");
}
