using System.Security.Cryptography;
using static TorchSharp.torch;

namespace LocallyMasked.MpiProbe;

/// <summary>
/// The values each rank contributes, a function of the rank and a seed only: the probe and the tests (which link this
/// file) compute the same arrays, so the tests can sum them in one process and compare. Magnitudes span many decades,
/// both signs, so that sums in another order round differently.
/// </summary>
internal static class ProbeData
{
    /// <summary>The element counts of the allreduce scenario: fewer elements than ranks, odd counts, a large array.</summary>
    public static readonly int[] AllreduceCounts = [1, 2, 5, 10_007, 300_000];

    /// <summary>Bucket sizes of the gradient scenario: one element per bucket, pieces cut across buckets, everything in one.</summary>
    public static readonly int[] BucketSizes = [1, 37, 1 << 20];

    public static float[] Floats(int rank, int count, int seed)
    {
        var random = new Random(seed * 7919 + rank);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)Value(random, 8);
        return values;
    }

    public static double[] Doubles(int rank, int count, int seed)
    {
        var random = new Random(seed * 7919 + rank + 104729);
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = Value(random, 16);
        return values;
    }

    public static byte[] Bytes(int rank, int count, int seed)
    {
        var values = new byte[count];
        new Random(seed * 7919 + rank + 1299709).NextBytes(values);
        return values;
    }

    /// <summary>±10^e with e uniform over <paramref name="decades"/> decades around 1.</summary>
    private static double Value(Random random, int decades) =>
        (random.Next(2) == 0 ? -1 : 1) * Math.Pow(10, (random.NextDouble() - 0.5) * decades);

    /// <summary>The gradient test's parameter shapes; the fourth's gradient is a transposed (non-contiguous) view.</summary>
    public static readonly long[][] Shapes = [[3, 4], [5], [2, 3, 4], [7, 2], [1], [6], [2, 2], [40, 30]];

    /// <summary>Index of the parameter whose gradient is a transposed view.</summary>
    public const int Transposed = 3;

    /// <summary>Index of the parameter that has no gradient on rank 1.</summary>
    public const int MissingOnRankOne = 5;

    /// <summary>Index of the parameter that has no gradient on any rank.</summary>
    public const int MissingEverywhere = 6;

    /// <summary>Whether rank <paramref name="rank"/> has a gradient for parameter <paramref name="index"/>.</summary>
    public static bool HasGradient(int rank, int index) =>
        index != MissingEverywhere && !(index == MissingOnRankOne && rank == 1);

    /// <summary>Rank <paramref name="rank"/>'s values for tensor <paramref name="index"/> of the gradient test: the data above, seeded by the index.</summary>
    public static Tensor Values(int rank, long[] shape, ScalarType dtype, int index)
    {
        int count = (int)shape.Aggregate(1L, (a, b) => a * b);
        return dtype == ScalarType.Float32
            ? tensor(Floats(rank, count, Seed + index), shape)
            : tensor(Doubles(rank, count, Seed + index), shape);
    }

    /// <summary>Rank <paramref name="rank"/>'s tensor <paramref name="index"/> of <see cref="Shapes"/> (a transposed view for <see cref="Transposed"/>).</summary>
    public static Tensor Tensor(int rank, int index, ScalarType dtype)
    {
        var shape = Shapes[index];
        return index == Transposed ? Values(rank, [shape[1], shape[0]], dtype, index).t() : Values(rank, shape, dtype, index);
    }

    /// <summary>Rank <paramref name="rank"/>'s gradient of parameter <paramref name="index"/>, null where it has none.</summary>
    public static Tensor? Gradient(int rank, int index, ScalarType dtype) => HasGradient(rank, index) ? Tensor(rank, index, dtype) : null;

    /// <summary>SHA-256 of a tensor's elements in row-major order.</summary>
    public static string Digest(Tensor t)
    {
        using var contiguous = t.contiguous();
        return Convert.ToHexString(SHA256.HashData(contiguous.bytes));
    }

    /// <summary>How many values rank <paramref name="rank"/> gives to the concatenating allgather: none on rank 0, unequal counts elsewhere.</summary>
    public static int GatheredCount(int rank) => rank == 0 ? 0 : 1000 * rank + 3;

    /// <summary>The seed of every scenario's data.</summary>
    public const int Seed = 25;
}
