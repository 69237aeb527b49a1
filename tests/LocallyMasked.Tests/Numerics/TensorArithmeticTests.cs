using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Numerics;

/// <summary>
/// Each Scalar-safe operation computes, bit for bit, what the TorchSharp operation it replaces computes (these tests call
/// the unsafe forms on purpose, on one thread), values and gradients, in float32 and float64.
/// </summary>
public class TensorArithmeticTests
{
    public static TheoryData<ScalarType> Types => new() { ScalarType.Float32, ScalarType.Float64 };

    [Theory]
    [MemberData(nameof(Types))]
    public void Each_operation_equals_the_torchsharp_form_it_replaces(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var a = randn(new long[] { 5, 7 }, dtype).mul(Scalars.Two);
        var b = randn(new long[] { 5, 7 }, dtype);
        Same(a.Plus(b), a + b);
        Same(a.Plus(0.3), a + 0.3);
        Same(a.Minus(0.3), a - 0.3);
        Same(a.SubtractedFrom(0.3), 0.3 - a);
        Same(a.Times(0.3), a * 0.3);
        Same(a.DividedBy(0.3), a / 0.3);
        Same(a.Squared(), a.square());
        Same(a.GreaterThan(0.1), a.gt(0.1));
        Same(a.LessThan(0.1), a.lt(0.1));
        Same(a.LessOrEqual(0.1), a.le(0.1));
        Same(a.GreaterOrEqual(0.1), a.ge(0.1));
        Same(a.ClampedTo(-0.5, 0.5), a.clamp(-0.5, 0.5));
        Same(a.AtLeast(-0.5), a.clamp_min(-0.5));
        Same(a.AtMost(0.5), a.clamp_max(0.5));
        Same(a.Elu(), nn.functional.elu(a, 1.0));
        Same(a.clone().PlusInPlace(b), a + b);
        Same(a.clone().TimesInPlace(0.3), a * 0.3);
        Same(a.clone().DividedByInPlace(0.3), a / 0.3);
        var mask = a.gt(0.0);
        Same(a.FilledWhere(mask, 2.5), a.masked_fill(mask, 2.5));
        Same(a.clone().FillInPlace(1.5), full_like(a, 1.5));
        var integers = arange(0, 10, dtype: ScalarType.Int64);
        Same(integers.AtMost(4L), integers.clamp_max(4));
        integers.AtMost(4L).dtype.Should().Be(ScalarType.Int64, "an integer bound keeps integer tensors integer");
        Same(integers.Plus(2L), integers + 2);
        Same(integers.EqualTo(3L), integers.eq(3));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Softplus_is_libtorchs_kernel_and_its_composed_fallback_agrees_with_it(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        TensorArithmetic.SoftplusUsesKernel.Should().BeTrue("TorchSharp 0.107 has the Scalar-taking softplus");
        // Both sides of the threshold (20), large negative values and zero.
        var values = tensor(new[] { -80.0, -20.0, -3.0, -1e-3, 0.0, 1e-3, 2.0, 19.9, 20.0, 20.1, 35.0, 300.0 }, dtype).requires_grad_(true);
        var expected = nn.functional.softplus(values);
        var kernel = values.Softplus();
        Same(kernel, expected);
        var composed = TensorArithmetic.ComposedSoftplus(values);
        double tolerance = dtype == ScalarType.Float64 ? 1e-15 : 1e-6;
        ((composed - expected).abs() / expected.abs().clamp_min(1.0)).max().ToDouble().Should().BeLessThan(tolerance, "relative to the value");
        var gradExpected = autograd.grad(new[] { expected.sum() }, new[] { values })[0];
        var gradKernel = autograd.grad(new[] { values.Softplus().sum() }, new[] { values })[0];
        var gradComposed = autograd.grad(new[] { TensorArithmetic.ComposedSoftplus(values).sum() }, new[] { values })[0];
        Same(gradKernel, gradExpected);
        (gradComposed - gradExpected).abs().max().ToDouble().Should().BeLessThan(tolerance);
    }

    [Fact]
    public void The_constants_have_the_integer_values_that_keep_every_dtype()
    {
        Scalars.One.ToInt64().Should().Be(1);
        Scalars.Zero.ToInt64().Should().Be(0);
        Scalars.MinusOne.ToInt64().Should().Be(-1);
        Scalars.Two.ToInt64().Should().Be(2);
        using var integers = arange(0, 3, dtype: ScalarType.Int32);
        using var sum = integers.Plus(integers);
        sum.dtype.Should().Be(ScalarType.Int32, "an integer alpha is valid for integer tensors");
    }

    private static void Same(Tensor actual, Tensor expected)
    {
        actual.dtype.Should().Be(expected.dtype);
        actual.shape.Should().Equal(expected.shape);
        actual.equal(expected).all().item<bool>().Should().BeTrue();
    }
}
