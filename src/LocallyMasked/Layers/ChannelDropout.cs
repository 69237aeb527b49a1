using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The residual blocks' channel dropout (each channel of each image zeroed with probability p, the rest scaled by
/// 1 / (1 - p), as <c>dropout2d</c>). Its randomness is a value the caller passes down: a CPU generator (a trainer gives
/// each shard of a batch its own seeded one, so that the draws do not depend on how threads interleave), or null for
/// torch's global generator.
/// </summary>
public static class ChannelDropout
{
    /// <summary>Applies channel dropout with probability <paramref name="probability"/> to (N, C, H, W) features.</summary>
    /// <param name="input">The features.</param>
    /// <param name="probability">The probability of zeroing a channel of an image, in [0, 1).</param>
    /// <param name="generator">The CPU generator to draw from; null: torch's global generator (<c>dropout2d</c>).</param>
    public static Tensor Apply(Tensor input, double probability, Generator? generator)
    {
        if (generator is null)
            return nn.functional.dropout2d(input, probability, training: true);
        using var scope = NewDisposeScope();
        var keep = 1.0 - probability;
        // Drawn on the CPU (TorchSharp 0.107 makes every Generator there, whatever device it is given), so that the
        // draws are the same on every device; (N, C) values are cheap to move.
        var noise = empty(new[] { input.shape[0], input.shape[1], 1, 1 }, input.dtype, CPU).bernoulli_(keep, generator).DividedByInPlace(keep);
        return (input * noise.to(input.device)).MoveToOuterDisposeScope();
    }
}
