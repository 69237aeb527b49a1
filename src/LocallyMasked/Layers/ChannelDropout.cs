using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The residual blocks' channel dropout (each channel of each image zeroed with probability p, the rest scaled by
/// 1 / (1 - p), as <c>dropout2d</c>). It draws from torch's global CPU generator unless the calling thread has set a
/// CPU generator of its own with <see cref="UseGenerator"/>: a trainer that computes shards of a batch on several threads
/// at once gives each shard its own seeded generator, so that the draws do not depend on how the threads interleave.
/// </summary>
public static class ChannelDropout
{
    [ThreadStatic]
    private static Generator? threadGenerator;

    /// <summary>Applies channel dropout with probability <paramref name="probability"/> to (N, C, H, W) features.</summary>
    public static Tensor Apply(Tensor input, double probability)
    {
        if (threadGenerator is null)
            return nn.functional.dropout2d(input, probability, training: true);
        using var scope = NewDisposeScope();
        var keep = 1.0 - probability;
        // Drawn on the CPU (TorchSharp 0.107 makes every Generator there, whatever device it is given), so that the
        // draws are the same on every device; (N, C) values are cheap to move.
        var noise = empty(new[] { input.shape[0], input.shape[1], 1, 1 }, input.dtype, CPU).bernoulli_(keep, threadGenerator).DividedByInPlace(keep);
        return (input * noise.to(input.device)).MoveToOuterDisposeScope();
    }

    /// <summary>Makes this thread's dropout draw from <paramref name="generator"/> until the returned scope is disposed.</summary>
    public static IDisposable UseGenerator(Generator generator)
    {
        var restore = new Restore();
        threadGenerator = generator;
        return restore;
    }

    private sealed class Restore : IDisposable
    {
        private readonly Generator? previous = threadGenerator;

        public void Dispose() => threadGenerator = previous;
    }
}
