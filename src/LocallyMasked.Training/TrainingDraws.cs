using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// The random draws of a training run, each from a seed that is a function of the run's seed, a counter (an epoch, a
/// step, an image) and a salt that names the draw, so that a resumed run draws what the uninterrupted one drew.
/// </summary>
internal static class TrainingDraws
{
    /// <summary>A well-mixed 64-bit seed from the run's seed, a counter and a salt.</summary>
    public static ulong Mix(ulong seed, ulong value, ulong salt)
    {
        ulong x = seed * 0x9E3779B97F4A7C15UL ^ (value + 0x632BE59BD9B4E019UL) * 0xBF58476D1CE4E5B9UL ^ salt * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        x *= 0xD6E8FEB86659FD93UL;
        return x ^ (x >> 32);
    }

    /// <summary>A step's orders: one for the batch (per-batch sampling, or a set of one), else one per image.</summary>
    public static IReadOnlyList<GenerationOrder> Orders(IReadOnlyList<GenerationOrder> set, OrderSampling sampling, int count, SeededRandom random)
    {
        if (sampling == OrderSampling.PerBatch || set.Count == 1) return new[] { set[random.NextInt(set.Count)] };
        var chosen = new GenerationOrder[count];
        for (int i = 0; i < count; i++) chosen[i] = set[random.NextInt(set.Count)];
        return chosen;
    }

    /// <summary>
    /// The generator a step's shard passes to the objective for the model's dropout (shard 0 for a step computed in one
    /// pass). TorchSharp 0.107 makes every Generator on the CPU: the models draw there and move the draws.
    /// </summary>
    public static Generator Dropout(ulong seed, long step, int shard) => new(Mix(seed, (ulong)step, 0x5EED_0100 + (ulong)shard), CPU);
}
