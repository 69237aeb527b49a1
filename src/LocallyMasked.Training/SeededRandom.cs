namespace LocallyMasked.Training;

/// <summary>
/// A small random generator (xoshiro256**, seeded by SplitMix64) whose whole state is four numbers, so that a
/// checkpoint can store it and a resumed run draws exactly the numbers an uninterrupted run would have drawn.
/// Used for shuffling, order choice and dynamic binarization; torch's generators are not used for these.
/// </summary>
internal sealed class SeededRandom
{
    private ulong s0, s1, s2, s3;

    /// <summary>Creates a generator from a seed.</summary>
    /// <param name="seed">Any 64-bit seed.</param>
    public SeededRandom(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix(ref x);
        s1 = SplitMix(ref x);
        s2 = SplitMix(ref x);
        s3 = SplitMix(ref x);
    }

    private SeededRandom(IReadOnlyList<ulong> state)
    {
        if (state.Count != 4) throw new ArgumentException($"Expected 4 state words, got {state.Count}.", nameof(state));
        if (state.All(v => v == 0)) throw new ArgumentException("Expected a state that is not all zeros.", nameof(state));
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>Restores a generator from <see cref="State"/>.</summary>
    /// <param name="state">The four state words.</param>
    public static SeededRandom FromState(IReadOnlyList<ulong> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new SeededRandom(state);
    }

    /// <summary>The current state (a copy).</summary>
    public ulong[] State => new[] { s0, s1, s2, s3 };

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    /// <param name="maxExclusive">The exclusive upper bound, positive.</param>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentException($"Expected a positive bound, got {maxExclusive}.", nameof(maxExclusive));
        ulong bound = (ulong)maxExclusive;
        ulong limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong value;
        do value = NextUInt64(); while (value >= limit);
        return (int)(value % bound);
    }

    /// <summary>Fills <paramref name="values"/> with uniform numbers in [0, 1).</summary>
    /// <param name="values">The array to fill.</param>
    public void FillUniform(Span<float> values)
    {
        // 24 bits so that the float is exactly representable and strictly below 1.
        for (int i = 0; i < values.Length; i++) values[i] = (NextUInt64() >> 40) * (1.0f / (1 << 24));
    }

    /// <summary>Fills <paramref name="values"/> with uniform numbers in [0, 1).</summary>
    /// <param name="values">The array to fill.</param>
    public void FillUniform(Span<double> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = NextDouble();
    }

    /// <summary>A uniformly random permutation of 0 .. count-1 (Fisher-Yates).</summary>
    /// <param name="count">The permutation length.</param>
    public int[] Permutation(int count)
    {
        if (count < 0) throw new ArgumentException($"Expected a non-negative count, got {count}.", nameof(count));
        var p = Enumerable.Range(0, count).ToArray();
        for (int i = count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
