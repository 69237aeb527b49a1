namespace LocallyMasked.Training.Memory;

/// <summary>
/// The peak resident memory of a training run on the CPU, by part, as <see cref="TrainingMemory.Estimate"/> gives it:
/// within <see cref="Accuracy"/> of the peaks measured for the configurations of docs/limits.md. The parts that are
/// alive at once add up; a training step and an evaluation pass do not run at once, so the larger of the two counts.
/// </summary>
public sealed record TrainingMemoryEstimate
{
    /// <summary>How far the measured peaks were from the estimate: at most 20 % either way (13 % on the calibration set).</summary>
    public const double Accuracy = 0.2;

    /// <summary>The .NET runtime, libtorch and the program before any model (<see cref="TrainingMemory.RuntimeBytes"/>).</summary>
    public required long Runtime { get; init; }

    /// <summary>
    /// The parameters and every copy of their size a run holds: weights, gradients (one set per shard worker), Adam's two
    /// moments and its temporaries, the weight average, and what a checkpoint save serializes.
    /// </summary>
    public required long Parameters { get; init; }

    /// <summary>The feature maps a forward and backward pass of one training batch keep, and the likelihood's intermediates.</summary>
    public required long TrainingStep { get; init; }

    /// <summary>The largest evaluation pass (a batch of image x order pairs without gradients).</summary>
    public required long Evaluation { get; init; }

    /// <summary>The images in memory (both splits) and what reading them holds at once.</summary>
    public required long Data { get; init; }

    /// <summary>Each order's masks and convolution plans.</summary>
    public required long Caches { get; init; }

    /// <summary>
    /// oneDNN's cache of bfloat16 kernels, which a bf16-mixed run fills within its first hundred steps and keeps
    /// (<see cref="TrainingMemory.BFloat16KernelCacheFactor"/>); 0 in float32.
    /// </summary>
    public long KernelCache { get; init; }

    /// <summary>The peak: everything alive at once.</summary>
    public long Total => checked(Runtime + Parameters + Math.Max(TrainingStep, Evaluation) + Data + Caches + KernelCache);

    /// <summary>The peak of the first steps, before a bf16-mixed run's kernel cache has filled.</summary>
    public long FirstSteps => checked(Total - KernelCache);

    /// <summary>The largest part after the runtime, in words: "the activations of a training batch", "the parameters and optimizer state", ...</summary>
    public string LargestPart =>
        new[]
        {
            (Bytes: TrainingStep, Name: "the activations of a training batch"),
            (Bytes: Evaluation, Name: "the activations of an evaluation batch"),
            (Bytes: Parameters, Name: "the parameters, gradients and optimizer state"),
            (Bytes: Data, Name: "the images"),
            (Bytes: Caches, Name: "the masks of the orders"),
            (Bytes: KernelCache, Name: "oneDNN's cache of bf16 kernels"),
        }.MaxBy(p => p.Bytes).Name;
}
