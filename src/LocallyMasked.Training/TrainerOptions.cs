using System.Text.Json;
using System.Text.Json.Nodes;
using LocallyMasked.Checkpoints;
using LocallyMasked.Numerics;

namespace LocallyMasked.Training;

/// <summary>
/// The settings of a training run (immutable; stored in every checkpoint). The defaults are those of the paper's
/// models (160 filters, 5 blocks per stage, trained for hundreds of thousands of steps). <c>lmconv train</c> uses the
/// same defaults where they mean the same (the Adam betas, the decay unit, clipping, the weight average, order sampling,
/// the seed) and its own where its default model, about a hundred times smaller and trained for 1,000 steps, needs
/// others; each property that differs says why.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>
    /// Images per step. 32, as the authors' published commands give it. <c>lmconv train --batch-size</c> defaults to 16:
    /// its small default model, trained on the CPU, takes twice as many steps in the same time, which its 1,000-step
    /// runs need more than larger batches.
    /// </summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// Adam's initial learning rate. 2e-4, the authors' default for the paper's models. <c>lmconv train --lr</c> defaults
    /// to 2e-3: a model of 16 filters and 1 block per stage tolerates a step ten times larger, and a run of 1,000 steps
    /// needs it; with 2e-4 such a model is far from converged when the run ends. Give 2e-3 (with
    /// <see cref="LearningRateDecay"/> 0.9995) when training a model of that size for a few thousand steps.
    /// </summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Adam's first-moment decay (PixelCNN++'s TensorFlow code uses 0.95; the LMConv authors' PyTorch loop keeps Adam's default 0.9).</summary>
    public double Beta1 { get; init; } = 0.95;

    /// <summary>Adam's second-moment decay (PixelCNN++'s TensorFlow code uses 0.9995; the LMConv authors' PyTorch loop keeps Adam's default 0.999).</summary>
    public double Beta2 { get; init; } = 0.9995;

    /// <summary>
    /// Multiplicative learning-rate decay, applied once per <see cref="DecayEvery"/>: lr(step) = lr * decay^step by
    /// default. 0.999995, the authors' value for runs of hundreds of thousands of steps. <c>lmconv train --lr-decay</c>
    /// defaults to 0.9995, which halves its larger learning rate within about 1,400 steps, the length of its runs.
    /// </summary>
    public double LearningRateDecay { get; init; } = 0.999995;

    /// <summary>Whether <see cref="LearningRateDecay"/> applies after every step (the default) or after every epoch.</summary>
    public LearningRateDecayUnit DecayEvery { get; init; } = LearningRateDecayUnit.Step;

    /// <summary>Largest global gradient L2 norm; gradients above it are scaled down. Null: no clipping.</summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>Whether orders are drawn per image or per batch.</summary>
    public OrderSampling OrderSampling { get; init; } = OrderSampling.PerImage;

    /// <summary>Decay of the exponential moving average of the weights (for example 0.999). Null: no average.</summary>
    public double? EmaDecay { get; init; }

    /// <summary>How image bytes become inputs.</summary>
    public InputEncoding Encoding { get; init; } = InputEncoding.Signed;

    /// <summary>The model's bit depth for <see cref="InputEncoding.Signed"/> inputs (1 to 8; 8 for MNIST and CIFAR-10).</summary>
    public int Bits { get; init; } = 8;

    /// <summary>Seed of every random choice the trainer makes (shuffling, orders, binarization).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Evaluate on the test images every this many steps; 0 (the default) turns periodic evaluation off, so that a
    /// library caller decides. <c>lmconv train --eval-every</c> defaults to 100, for the test curve in its log.
    /// </summary>
    public int EvaluateEvery { get; init; }

    /// <summary>
    /// How many test images a periodic evaluation uses (the first ones); 0 means all. <c>lmconv train --eval-images</c>
    /// defaults to 200, so that its periodic evaluations cost a small share of a short run; its final evaluation uses 500
    /// (<c>--final-eval-images</c>).
    /// </summary>
    public int EvaluationImages { get; init; } = 500;

    /// <summary>
    /// Shards of each batch computed at the same time, each on its own thread with an equal share of libtorch's intra-op
    /// threads (at least one); their gradients are added in shard order. 1 (the default) computes the batch in one pass.
    /// On a few CPU cores small models train markedly faster with 2 (docs/benchmarks.md, "Training step: shards on
    /// threads"). Results are reproducible for a fixed number of workers and threads; different counts add the same
    /// terms in another order. Dropout draws from a generator per shard, seeded from <see cref="Seed"/> and the step.
    /// The default stays 1 because the best count depends on the machine and the model; <c>lmconv train --workers</c>
    /// defaults to 2 on a CPU with at least 2 libtorch threads (its small model is of the kind that gains), else 1.
    /// </summary>
    public int Workers { get; init; } = 1;

    /// <summary>
    /// The precision of the model's products in training steps and periodic evaluations: <see cref="ComputePrecision.Float32"/>
    /// (the default: the parameters' dtype) or <see cref="ComputePrecision.BFloat16Mixed"/> (convolutions and 1x1 layers in
    /// bf16, for float32 models; the master weights, their gradients, Adam's state, the weight average and the loss stay
    /// float32). <see cref="PixelCnnTraining"/>'s trainers evaluate their model with it; the objective of a trainer built
    /// from a module and a function of your own computes in whatever precision that function uses. Stored in checkpoints
    /// (by name); a checkpoint written before it existed reads as Float32.
    /// </summary>
    public ComputePrecision Precision { get; init; } = ComputePrecision.Float32;

    /// <summary>The settings as they are stored in a checkpoint's metadata.</summary>
    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this)!.AsObject();

    /// <summary>The settings a training checkpoint was written with.</summary>
    /// <param name="metadata">The checkpoint's metadata.</param>
    /// <exception cref="InvalidDataException">The metadata holds no readable trainer settings.</exception>
    public static TrainerOptions FromMetadata(CheckpointMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (metadata.Options is null) throw new InvalidDataException("The checkpoint records no trainer settings.");
        try
        {
            return metadata.Options.Deserialize<TrainerOptions>() ?? throw new InvalidDataException("The checkpoint's trainer settings are empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint's trainer settings are unreadable ({e.Message}).", e);
        }
    }

    /// <summary>Checks every setting, naming the first one out of range.</summary>
    public void Validate()
    {
        if (BatchSize <= 0) throw new ArgumentException($"Expected a positive batch size, got {BatchSize}.", nameof(BatchSize));
        if (Workers < 1 || Workers > BatchSize)
            throw new ArgumentException($"Expected from 1 to {BatchSize} (the batch size) workers, got {Workers}.", nameof(Workers));
        if (!(LearningRate > 0)) throw new ArgumentException($"Expected a positive learning rate, got {LearningRate}.", nameof(LearningRate));
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"Expected Beta1 in [0, 1), got {Beta1}.", nameof(Beta1));
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"Expected Beta2 in [0, 1), got {Beta2}.", nameof(Beta2));
        if (!(LearningRateDecay > 0 && LearningRateDecay <= 1))
            throw new ArgumentException($"Expected a learning-rate decay in (0, 1], got {LearningRateDecay}.", nameof(LearningRateDecay));
        if (!Enum.IsDefined(DecayEvery))
            throw new ArgumentException($"Expected a decay unit of {string.Join(" or ", Enum.GetNames<LearningRateDecayUnit>())}, got {DecayEvery}.", nameof(DecayEvery));
        if (MaxGradientNorm is { } norm && !(norm > 0))
            throw new ArgumentException($"Expected a positive gradient-norm limit, got {norm}.", nameof(MaxGradientNorm));
        if (EmaDecay is { } ema && !(ema >= 0 && ema < 1)) throw new ArgumentException($"Expected an EMA decay in [0, 1), got {ema}.", nameof(EmaDecay));
        if (Bits < 1 || Bits > 8) throw new ArgumentException($"Expected a bit depth from 1 to 8, got {Bits}.", nameof(Bits));
        if (!Enum.IsDefined(Encoding)) throw new ArgumentException($"Expected an input encoding of {string.Join(" or ", Enum.GetNames<InputEncoding>())}, got {Encoding}.", nameof(Encoding));
        if (!Enum.IsDefined(OrderSampling)) throw new ArgumentException($"Expected order sampling {string.Join(" or ", Enum.GetNames<OrderSampling>())}, got {OrderSampling}.", nameof(OrderSampling));
        if (EvaluateEvery < 0) throw new ArgumentException($"Expected a non-negative evaluation period, got {EvaluateEvery}.", nameof(EvaluateEvery));
        if (EvaluationImages < 0) throw new ArgumentException($"Expected a non-negative image count, got {EvaluationImages}.", nameof(EvaluationImages));
        if (Precision is null) throw new ArgumentException($"Expected a compute precision of {ComputePrecision.Names}, got null.", nameof(Precision));
    }
}
