using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Numerics;

/// <summary>
/// The tensor operations that TorchSharp 0.107 offers only with temporary <see cref="Scalar"/>s (C# operators with numbers,
/// <c>a + b</c>, <c>square()</c>, <c>elu</c>, <c>softplus</c>, ...), written so that every Scalar outlives the native call
/// that reads it: a <see cref="Scalars"/> constant, or one made here and disposed after the call. Each computes what the
/// TorchSharp operation it replaces computes. Use them on every path that may run while another thread allocates
/// (docs/architecture.md, "Scalars and native calls"; the build's analyzer refuses the unsafe forms).
/// </summary>
public static class TensorArithmetic
{
    /// <summary><c>a + b</c>, elementwise with broadcasting.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, Scalars.One);

    /// <summary><c>a += b</c> in place; returns <paramref name="a"/>.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, Scalars.One);

    /// <summary><c>a + value</c>.</summary>
    public static Tensor Plus(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.add(s, Scalars.One);
    }

    /// <summary><c>a - value</c>.</summary>
    public static Tensor Minus(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.sub(s);
    }

    /// <summary><c>value - a</c>.</summary>
    public static Tensor SubtractedFrom(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        using var scope = NewDisposeScope();
        return a.neg().add(s, Scalars.One).MoveToOuterDisposeScope();
    }

    /// <summary><c>a * value</c>.</summary>
    public static Tensor Times(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.mul(s);
    }

    /// <summary><c>a *= value</c> in place; returns <paramref name="a"/>.</summary>
    public static Tensor TimesInPlace(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.mul_(s);
    }

    /// <summary><c>a / value</c>.</summary>
    public static Tensor DividedBy(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.div(s);
    }

    /// <summary><c>a / value</c> in place; returns <paramref name="a"/>.</summary>
    public static Tensor DividedByInPlace(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.div_(s);
    }

    /// <summary><c>a * a</c>, as TorchSharp's <c>square()</c> (a power of two).</summary>
    public static Tensor Squared(this Tensor a) => a.pow(Scalars.Two);

    /// <summary><c>a &gt; value</c> as a boolean tensor.</summary>
    public static Tensor GreaterThan(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.gt(s);
    }

    /// <summary><c>a &lt; value</c> as a boolean tensor.</summary>
    public static Tensor LessThan(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.lt(s);
    }

    /// <summary><c>a &lt;= value</c> as a boolean tensor.</summary>
    public static Tensor LessOrEqual(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.le(s);
    }

    /// <summary><c>a &gt;= value</c> as a boolean tensor.</summary>
    public static Tensor GreaterOrEqual(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.ge(s);
    }

    /// <summary><c>a == value</c> as a boolean tensor.</summary>
    public static Tensor EqualTo(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.eq(s);
    }

    /// <summary>Clamps into [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Tensor ClampedTo(this Tensor a, double min, double max)
    {
        using var low = min.ToScalar();
        using var high = max.ToScalar();
        return a.clamp(low, high);
    }

    /// <summary>max(a, <paramref name="min"/>).</summary>
    public static Tensor AtLeast(this Tensor a, double min)
    {
        using var s = min.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary>min(a, <paramref name="max"/>).</summary>
    public static Tensor AtMost(this Tensor a, double max)
    {
        using var s = max.ToScalar();
        return a.clamp_max(s);
    }

    /// <summary>A copy of <paramref name="a"/> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor FilledWhere(this Tensor a, Tensor mask, double value)
    {
        using var s = value.ToScalar();
        return a.masked_fill(mask, s);
    }

    /// <summary>Sets every element to <paramref name="value"/> in place; returns <paramref name="a"/>.</summary>
    public static Tensor FillInPlace(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.fill_(s);
    }

    /// <summary><c>a + value</c> with an integer value (integer tensors stay integer).</summary>
    public static Tensor Plus(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.add(s, Scalars.One);
    }

    /// <summary><c>a - value</c> with an integer value.</summary>
    public static Tensor Minus(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.sub(s);
    }

    /// <summary><c>a * value</c> with an integer value.</summary>
    public static Tensor Times(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.mul(s);
    }

    /// <summary>min(a, <paramref name="max"/>) with an integer bound (integer tensors stay integer).</summary>
    public static Tensor AtMost(this Tensor a, long max)
    {
        using var s = max.ToScalar();
        return a.clamp_max(s);
    }

    /// <summary>max(a, <paramref name="min"/>) with an integer bound.</summary>
    public static Tensor AtLeast(this Tensor a, long min)
    {
        using var s = min.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary><c>a == value</c> with an integer value.</summary>
    public static Tensor EqualTo(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.eq(s);
    }

    /// <summary>Sets every element to the integer <paramref name="value"/> in place; returns <paramref name="a"/>.</summary>
    public static Tensor FillInPlace(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.fill_(s);
    }

    /// <summary>ELU with alpha 1: <c>a</c> where positive, <c>exp(a) - 1</c> elsewhere (libtorch's <c>elu</c> kernel).</summary>
    public static Tensor Elu(this Tensor a) => a.elu(Scalars.One, Scalars.One, Scalars.One);

    /// <summary>
    /// softplus(a) = log(1 + exp(a)) with libtorch's threshold of 20 (a itself above it), what <c>nn.functional.softplus</c>
    /// computes: libtorch's own kernel, reached with owned Scalars (TorchSharp 0.107 keeps the Scalar-taking overload
    /// private), or, should a TorchSharp version lack it, the same function composed of Scalar-free operations.
    /// </summary>
    public static Tensor Softplus(this Tensor a)
    {
        return SoftplusKernel is { } kernel ? kernel(a, Scalars.One, SoftplusThreshold) : ComposedSoftplus(a);
    }

    private static Scalar SoftplusThreshold { get; } = 20L.ToScalar();

    private static readonly Func<Tensor, Scalar, Scalar, Tensor>? SoftplusKernel = FindSoftplusKernel();

    private static Func<Tensor, Scalar, Scalar, Tensor>? FindSoftplusKernel()
    {
        var method = typeof(Tensor).GetMethod("softplus1", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance,
            null, new[] { typeof(Scalar), typeof(Scalar) }, null);
        return method is null || method.ReturnType != typeof(Tensor)
            ? null
            : (Func<Tensor, Scalar, Scalar, Tensor>)Delegate.CreateDelegate(typeof(Func<Tensor, Scalar, Scalar, Tensor>), method);
    }

    /// <summary>Whether <see cref="Softplus"/> runs libtorch's kernel (tests compare both forms).</summary>
    internal static bool SoftplusUsesKernel => SoftplusKernel is not null;

    /// <summary>The Scalar-free composition <see cref="Softplus"/> falls back to.</summary>
    internal static Tensor ComposedSoftplus(Tensor a)
    {
        using var scope = NewDisposeScope();
        return where(a.gt(SoftplusThreshold), a, a.neg().log_sigmoid().neg()).MoveToOuterDisposeScope();
    }
}
