using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>Settings of one sampling or completion call.</summary>
public sealed record SamplingOptions
{
    /// <summary>
    /// Softmax temperature of the mixture (or binary) probabilities and scale factor of the logistic
    /// components; 1 samples the model's distribution. Must be finite and positive.
    /// </summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>
    /// Seed of the random draws; the same seed gives the same images with either sampler. When null the
    /// draws come from TorchSharp's default CPU generator (seeded by <c>torch.manual_seed</c>).
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// libtorch intra-op threads while the cached sampler steps through the pixels on the CPU; the previous
    /// setting is restored afterwards. A step is a few dozen matrix products with N rows and loops over (N, C)
    /// features; only the products could use more threads, and waking a worker for each costs more than it saves at
    /// batches of 16 and 64 (docs/benchmarks.md, sampling section, "CPU threads"). Null leaves libtorch's setting alone.
    /// Ignored on CUDA and by the naive sampler, whose full network passes do use threads.
    /// </summary>
    public int? CpuThreads { get; init; } = 1;

    /// <summary>
    /// Called after each step with the step's index in the orders and the distribution parameters
    /// (N, M) of the pixels generated at that step (a temporary tensor: copy what you keep).
    /// For diagnostics and for comparing samplers.
    /// </summary>
    public Action<int, Tensor>? StepObserver { get; init; }
}
