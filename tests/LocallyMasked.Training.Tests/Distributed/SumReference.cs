using LocallyMasked.MpiProbe;
using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// What one process computes from the probe's per-rank data: arrays added one after the other in rank order, and
/// tensors added as the trainer adds its shards' gradients (the first one's clone, then <c>PlusInPlace</c> of the next).
/// </summary>
internal static class SumReference
{
    public static float[] Floats(int ranks, int count, Func<int, int, int> order)
    {
        var sum = ProbeData.Floats(order(0, ranks), count, ProbeData.Seed);
        for (int k = 1; k < ranks; k++)
        {
            var term = ProbeData.Floats(order(k, ranks), count, ProbeData.Seed);
            for (int i = 0; i < count; i++) sum[i] += term[i];
        }

        return sum;
    }

    public static double[] Doubles(int ranks, int count)
    {
        var sum = ProbeData.Doubles(0, count, ProbeData.Seed);
        for (int r = 1; r < ranks; r++)
        {
            var term = ProbeData.Doubles(r, count, ProbeData.Seed);
            for (int i = 0; i < count; i++) sum[i] += term[i];
        }

        return sum;
    }

    /// <summary>Rank order (the k-th term is rank k).</summary>
    public static int InRankOrder(int k, int ranks) => k;

    /// <summary>The digest of the gradient of parameter <paramref name="index"/> summed over ranks that have one ("none" when none has).</summary>
    public static string Gradient(int ranks, int index, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        for (int r = 0; r < ranks; r++)
            if (ProbeData.Gradient(r, index, dtype) is { } g) sum = sum is null ? g.clone() : sum.PlusInPlace(g);
        return sum is null ? "none" : ProbeData.Digest(sum);
    }

    /// <summary>The digest of tensor <paramref name="index"/> summed over all ranks.</summary>
    public static string Tensor(int ranks, int index, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var sum = ProbeData.Tensor(0, index, dtype).clone();
        for (int r = 1; r < ranks; r++) sum.PlusInPlace(ProbeData.Tensor(r, index, dtype));
        return ProbeData.Digest(sum);
    }
}
