using System.Numerics;
using System.Runtime.CompilerServices;

namespace LocallyMasked.Sampling;

/// <summary>
/// The cached sampler's elementwise work at one pixel per image, each a single pass over CPU memory: concat_elu,
/// cache rows written and neighbourhood rows copied into a patch, biases, feature normalization, skip addition and the
/// gate. On (N, C) features each of these is a few microseconds of arithmetic but several torch operations of a few
/// microseconds of overhead each; here each is one loop. float32 is vectorized (exp by a polynomial, relative error
/// about 1e-7); float64 uses <see cref="Math.Exp"/> lane by lane, so that its results stay within rounding of libtorch's.
/// </summary>
internal static class CpuKernels
{
    /// <summary>Writes elu([x, -x]) of every row of <paramref name="x"/> (N x C) into row rows[i] (2C wide) of <paramref name="cache"/>.</summary>
    public static void ConcatEluRows<T>(ReadOnlySpan<T> x, int channels, Span<T> cache, ReadOnlySpan<long> rows)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < rows.Length; i++)
            ConcatEluRow(x.Slice(i * channels, channels), cache.Slice(checked((int)(rows[i] * 2 * channels)), 2 * channels));
    }

    /// <summary>Writes elu([x, -x]) of every row of <paramref name="x"/> (N x C) into the same row of <paramref name="target"/> (N x 2C).</summary>
    public static void ConcatElu<T>(ReadOnlySpan<T> x, int channels, Span<T> target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length / channels;
        for (int i = 0; i < n; i++) ConcatEluRow(x.Slice(i * channels, channels), target.Slice(i * 2 * channels, 2 * channels));
    }

    /// <summary>Copies every row of <paramref name="x"/> (N x C) into row rows[i] of <paramref name="cache"/>.</summary>
    public static void CopyRows<T>(ReadOnlySpan<T> x, int channels, Span<T> cache, ReadOnlySpan<long> rows)
        where T : unmanaged
    {
        for (int i = 0; i < rows.Length; i++)
            x.Slice(i * channels, channels).CopyTo(cache.Slice(checked((int)(rows[i] * channels)), channels));
    }

    /// <summary>Copies the cache rows <paramref name="rows"/> (C wide each), in turn, into the contiguous <paramref name="patch"/>.</summary>
    public static void GatherRows<T>(ReadOnlySpan<T> cache, int channels, ReadOnlySpan<long> rows, Span<T> patch)
        where T : unmanaged
    {
        for (int r = 0; r < rows.Length; r++)
            cache.Slice(checked((int)(rows[r] * channels)), channels).CopyTo(patch.Slice(r * channels, channels));
    }

    /// <summary>In place on every row of <paramref name="x"/> (N x C): adds image i's bias row (nothing when the bias is empty).</summary>
    public static void AddRows<T>(Span<T> x, int channels, BiasRows<T> bias)
        where T : unmanaged, INumber<T>
    {
        if (bias.IsEmpty) return;
        int n = x.Length / channels;
        for (int i = 0; i < n; i++) Add(x.Slice(i * channels, channels), bias.Row(i, channels));
    }

    /// <summary>
    /// In place on every row of <paramref name="x"/> (N x C): PONO (unbiased variance, epsilon <paramref name="epsilon"/>)
    /// when <paramref name="counts"/> is empty and <paramref name="pono"/> is set, division by the image's visible-tap
    /// count (one count, or one per image) when counts are given.
    /// </summary>
    public static void Normalize<T>(Span<T> x, int channels, bool pono, ReadOnlySpan<double> counts, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x.Length / channels;
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * channels, channels);
            if (!counts.IsEmpty) Scale(row, T.One / T.CreateTruncating(counts[counts.Length == 1 ? 0 : i]));
            else if (pono) Pono(row, epsilon);
        }
    }

    /// <summary>
    /// The gated residual update of every image: output = u + norm(a) * sigmoid(b), where a and b are the halves of the row
    /// of <paramref name="gate"/> (N x 2C), and norm is PONO, division by the visible-tap count, or nothing, as in
    /// <see cref="Normalize"/>. <paramref name="output"/> may be <paramref name="u"/>. Each gate row is worked on in
    /// <paramref name="scratch"/> (2C values), leaving <paramref name="gate"/> unchanged, or in place when it is empty.
    /// </summary>
    public static void Gate<T>(ReadOnlySpan<T> u, Span<T> gate, Span<T> output, int channels, bool pono,
        ReadOnlySpan<double> counts, double epsilon, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = u.Length / channels;
        for (int i = 0; i < n; i++)
        {
            var row = gate.Slice(i * 2 * channels, 2 * channels);
            if (!scratch.IsEmpty)
            {
                row.CopyTo(scratch);
                row = scratch.Slice(0, 2 * channels);
            }
            var a = row.Slice(0, channels);
            var b = row.Slice(channels, channels);
            if (!counts.IsEmpty) Scale(a, T.One / T.CreateTruncating(counts[counts.Length == 1 ? 0 : i]));
            else if (pono) Pono(a, epsilon);
            Sigmoid(b);
            var source = u.Slice(i * channels, channels);
            var target = output.Slice(i * channels, channels);
            int c = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; c + Vector<T>.Count <= channels; c += Vector<T>.Count)
                    (new Vector<T>(source.Slice(c)) + new Vector<T>(a.Slice(c)) * new Vector<T>(b.Slice(c))).CopyTo(target.Slice(c));
            }
            for (; c < channels; c++) target[c] = source[c] + a[c] * b[c];
        }
    }

    /// <summary>In place: adds <paramref name="addend"/> (same length) to <paramref name="x"/>.</summary>
    public static void Add<T>(Span<T> x, ReadOnlySpan<T> addend)
        where T : unmanaged, INumber<T>
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
                (new Vector<T>(x.Slice(c)) + new Vector<T>(addend.Slice(c))).CopyTo(x.Slice(c));
        }
        for (; c < x.Length; c++) x[c] += addend[c];
    }

    /// <summary>In place: elu with alpha 1.</summary>
    public static void Elu<T>(Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
                EluVector(new Vector<T>(x.Slice(c))).CopyTo(x.Slice(c));
        }
        for (; c < x.Length; c++) x[c] = EluScalar(x[c]);
    }

    private static void ConcatEluRow<T>(ReadOnlySpan<T> x, Span<T> target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int channels = x.Length, c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= channels; c += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(c));
                EluVector(v).CopyTo(target.Slice(c));
                EluVector(-v).CopyTo(target.Slice(channels + c));
            }
        }
        for (; c < channels; c++)
        {
            target[c] = EluScalar(x[c]);
            target[channels + c] = EluScalar(-x[c]);
        }
    }

    private static void Scale<T>(Span<T> x, T factor)
        where T : unmanaged, INumber<T>
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
                (new Vector<T>(x.Slice(c)) * factor).CopyTo(x.Slice(c));
        }
        for (; c < x.Length; c++) x[c] *= factor;
    }

    /// <summary>(x - mean) / sqrt(unbiased variance + epsilon), in place (two passes, as libtorch's var).</summary>
    private static void Pono<T>(Span<T> x, double epsilon)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T mean = Sum(x) / T.CreateTruncating(x.Length);
        var squares = Vector<T>.Zero;
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
            {
                var d = new Vector<T>(x.Slice(c)) - new Vector<T>(mean);
                squares += d * d;
            }
        }
        T sum = Vector.Sum(squares);
        for (; c < x.Length; c++) sum += (x[c] - mean) * (x[c] - mean);
        double scale = 1 / Math.Sqrt(double.CreateTruncating(sum) / (x.Length - 1) + epsilon);
        T shift = mean, factor = T.CreateTruncating(scale);
        c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
                ((new Vector<T>(x.Slice(c)) - new Vector<T>(shift)) * factor).CopyTo(x.Slice(c));
        }
        for (; c < x.Length; c++) x[c] = (x[c] - shift) * factor;
    }

    private static T Sum<T>(ReadOnlySpan<T> x)
        where T : unmanaged, INumber<T>
    {
        var partial = Vector<T>.Zero;
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count) partial += new Vector<T>(x.Slice(c));
        }
        T sum = Vector.Sum(partial);
        for (; c < x.Length; c++) sum += x[c];
        return sum;
    }

    private static void Sigmoid<T>(Span<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; c + Vector<T>.Count <= x.Length; c += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(c));
                // exp of minus the magnitude never overflows: 1 / (1 + e) for v >= 0, e / (1 + e) below.
                var e = ExpNonPositive(-Vector.Abs(v));
                var denominator = Vector<T>.One + e;
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, Vector<T>.Zero), Vector<T>.One / denominator, e / denominator).CopyTo(x.Slice(c));
            }
        }
        for (; c < x.Length; c++)
        {
            T e = T.Exp(-T.Abs(x[c]));
            x[c] = x[c] >= T.Zero ? T.One / (T.One + e) : e / (T.One + e);
        }
    }

    private static T EluScalar<T>(T v)
        where T : unmanaged, IFloatingPointIeee754<T> => v > T.Zero ? v : T.Exp(v) - T.One;

    private static Vector<T> EluVector<T>(Vector<T> v)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<T>.Zero), v, ExpNonPositive(Vector.Min(v, Vector<T>.Zero)) - Vector<T>.One);

    /// <summary>exp of non-positive lanes: a polynomial for float32, <see cref="Math.Exp"/> per lane for float64.</summary>
    private static Vector<T> ExpNonPositive<T>(Vector<T> x)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            var single = ExpNonPositive(Unsafe.As<Vector<T>, Vector<float>>(ref x));
            return Unsafe.As<Vector<float>, Vector<T>>(ref single);
        }
        Span<T> lanes = stackalloc T[Vector<T>.Count];
        x.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++) lanes[i] = T.Exp(lanes[i]);
        return new Vector<T>(lanes);
    }

    /// <summary>
    /// exp(x) for x &lt;= 0 in float32 (Cephes' expf): x = n ln 2 + r with |r| &lt;= ln 2 / 2, a degree-7 polynomial for
    /// e^r, and 2^n from the exponent bits. Below -87 the result is flushed to about 1.6e-38, where elu and the sigmoid
    /// no longer change.
    /// </summary>
    private static Vector<float> ExpNonPositive(Vector<float> x)
    {
        x = Vector.Max(x, new Vector<float>(-87f));
        var n = Vector.Floor(x * new Vector<float>(1.44269504088896341f) + new Vector<float>(0.5f));
        var r = x - n * new Vector<float>(0.693359375f) + n * new Vector<float>(2.12194440e-4f);
        var p = new Vector<float>(1.9875691500e-4f);
        p = p * r + new Vector<float>(1.3981999507e-3f);
        p = p * r + new Vector<float>(8.3334519073e-3f);
        p = p * r + new Vector<float>(4.1665795894e-2f);
        p = p * r + new Vector<float>(1.6666665459e-1f);
        p = p * r + new Vector<float>(5.0000001201e-1f);
        p = p * r * r + r + Vector<float>.One;
        var scale = Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23);
        return p * Vector.AsVectorSingle(scale);
    }
}

/// <summary>
/// A bias for every image's features: one row shared by all images, or one row per image, each <c>Row(i, length)</c> read
/// from <see cref="Data"/> at <c>offset + i * stride</c> (a convolution's columns in a role's per-step terms).
/// </summary>
internal readonly ref struct BiasRows<T>
{
    private readonly int _stride;
    private readonly int _offset;
    private readonly bool _perImage;

    /// <summary>Describes the rows.</summary>
    /// <param name="data">The values.</param>
    /// <param name="stride">Elements between consecutive images' rows.</param>
    /// <param name="offset">Where image 0's row begins.</param>
    /// <param name="perImage">One row per image, rather than one shared row.</param>
    public BiasRows(ReadOnlySpan<T> data, int stride, int offset, bool perImage)
    {
        Data = data;
        _stride = stride;
        _offset = offset;
        _perImage = perImage;
    }

    /// <summary>The values (empty: no bias).</summary>
    public ReadOnlySpan<T> Data { get; }

    /// <summary>Whether there is no bias.</summary>
    public bool IsEmpty => Data.IsEmpty;

    /// <summary>Image <paramref name="image"/>'s row of <paramref name="length"/> values.</summary>
    public ReadOnlySpan<T> Row(int image, int length) => Data.Slice(_offset + (_perImage ? image * _stride : 0), length);
}
