using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>
/// Every path of the locally masked convolution in bf16-mixed precision (operands cast to bf16, result and bias in
/// float32) against the float64 general path, forward and backward. The bf16 tolerance: bf16 keeps 8 significant bits
/// (unit roundoff 2^-9), each product term carries two operand roundings and the result one more, so the error of a sum
/// of K terms of random sign is about sqrt(K) * 2^-8 times a term, against a result of about sqrt(K) times a term: the
/// largest error stays below 2 % of the result's largest magnitude (measured: up to about 1 %). The same plans in float32 stay
/// within 1e-5, and bf16's error above 1e-4 shows that the products did run in bf16.
/// </summary>
public sealed class MixedPrecisionConvolutionTests
{
    private const int Batch = 3, InChannels = 4, OutChannels = 5;

    /// <summary>The largest error allowed, relative to the reference's largest magnitude.</summary>
    internal const double BFloat16Tolerance = 2e-2;

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "raster", "s-curve", "hilbert", "random", "per-sample", "non-binary" })
            foreach (var dilation in new[] { 1, 2 })
                data.Add(kind, dilation);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryPathInBFloat16MatchesTheFloat64GeneralPathWithinTheBFloat16Tolerance(string kind, int dilation)
    {
        manual_seed(7 + dilation);
        using var scope = NewDisposeScope();
        var (h, w) = kind == "hilbert" ? (8, 8) : (7, 6);
        var mask = ConvolutionPathTests.Mask(kind, h, w, dilation, true);
        // float32 leaves (the master weights), the reference from the same values in float64.
        var x = randn(Batch, InChannels, h, w, requires_grad: true);
        var weight = randn(OutChannels, InChannels, 3, 3, requires_grad: true);
        var bias = randn(OutChannels, requires_grad: true);
        var r = randn(Batch, OutChannels, h, w);
        var (x64, w64, b64) = (x.detach().to(ScalarType.Float64).requires_grad_(true), weight.detach().to(ScalarType.Float64).requires_grad_(true),
            bias.detach().to(ScalarType.Float64).requires_grad_(true));
        var expected = ConvolutionPlanner.General(x64, w64, b64, mask, 3, dilation);
        var expectedGradients = autograd.grad(new[] { (expected * r.to(ScalarType.Float64)).sum() }, new[] { x64, w64, b64 });

        foreach (var precision in ComputePrecision.All)
        {
            var type = precision.ProductType ?? ScalarType.Float32;
            foreach (var (name, plan) in Plans(mask, h, w, dilation, type))
            {
                var because = $"{precision}, {kind}, dilation {dilation}, {name}: {plan?.ToString() ?? "general"}";
                var actual = Convolve(x, weight, bias, mask, plan, dilation, precision);
                actual.dtype.Should().Be(ScalarType.Float32, because);
                var gradients = autograd.grad(new[] { (actual * r).sum() }, new[] { x, weight, bias });
                var errors = new[] { RelativeError(actual, expected) }.Concat(Enumerable.Range(0, 3).Select(i => RelativeError(gradients[i], expectedGradients[i]))).ToArray();
                gradients.Select(g => g.dtype).Should().AllBeEquivalentTo(ScalarType.Float32, "gradients reach the float32 master weights");
                if (precision.IsMixed)
                {
                    errors.Should().OnlyContain(e => e < BFloat16Tolerance, because);
                    errors[0].Should().BeGreaterThan(1e-4, $"{because}: the products run in bf16");
                }
                else
                {
                    errors.Should().OnlyContain(e => e < 1e-5, because);
                }
            }
        }
    }

    [Fact]
    public void TheLayerInBFloat16WithWeightNormalizationAndMaskWeightsStaysCloseToFloat32AndDifferentiatesTheFloat32Parameters()
    {
        manual_seed(3);
        using var scope = NewDisposeScope();
        var mask = ConvolutionPathTests.Mask("random", 8, 8, 1, true).to(ScalarType.Float32);
        var layer = new LocallyMaskedConv2d(6, 7, 3, 1, bias: true, maskWeight: true, weightNormalization: true);
        var x = randn(2, 6, 8, 8);
        var r = randn(2, 7, 8, 8);
        var parameters = layer.parameters().ToArray();
        var full = layer.forward(x, mask);
        var fullGradients = autograd.grad(new[] { (full * r).sum() }, parameters);
        var mixed = layer.forward(x, mask, ComputePrecision.BFloat16Mixed);
        var mixedGradients = autograd.grad(new[] { (mixed * r).sum() }, parameters);

        mixed.dtype.Should().Be(ScalarType.Float32);
        RelativeError(mixed, full).Should().BeInRange(1e-4, BFloat16Tolerance);
        for (var i = 0; i < parameters.Length; i++)
        {
            mixedGradients[i].dtype.Should().Be(ScalarType.Float32);
            RelativeError(mixedGradients[i], fullGradients[i]).Should().BeLessThan(BFloat16Tolerance, $"parameter {i}");
        }
        parameters.Should().OnlyContain(p => p.dtype == ScalarType.Float32, "the master weights stay float32");
    }

    [Fact]
    public void Float32PrecisionIsTheLayersOwnForwardBitForBit()
    {
        manual_seed(4);
        using var scope = NewDisposeScope();
        var mask = ConvolutionPathTests.Mask("hilbert", 8, 8, 1, true).to(ScalarType.Float32);
        var layer = new LocallyMaskedConv2d(3, 4, maskWeight: true);
        var x = randn(2, 3, 8, 8);
        layer.forward(x, mask, ComputePrecision.Float32).equal(layer.forward(x, mask)).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void BFloat16WithFloat64WeightsIsAnErrorNamingThePrecision()
    {
        using var scope = NewDisposeScope();
        var mask = ConvolutionPathTests.Mask("raster", 5, 5, 1, true);
        var layer = new LocallyMaskedConv2d(2, 3, dtype: ScalarType.Float64);
        var x = randn(1, 2, 5, 5, dtype: ScalarType.Float64);
        var act = () => layer.forward(x, mask, ComputePrecision.BFloat16Mixed);
        act.Should().Throw<ArgumentException>().WithParameterName("precision").WithMessage("*bf16-mixed*Float64*");
        var functional = () => LocallyMaskedConvolution.locally_masked_conv2d(x, mask, randn(3, 2, 3, 3, dtype: ScalarType.Float64),
            precision: ComputePrecision.BFloat16Mixed);
        functional.Should().Throw<ArgumentException>().WithParameterName("precision");
    }

    /// <summary>The convolution in a precision: a forced plan (null: the general path) on the cast operands, the bias in float32.</summary>
    private static Tensor Convolve(Tensor x, Tensor weight, Tensor bias, Tensor mask, MaskPlan? plan, int dilation, ComputePrecision precision)
    {
        var (input, w) = (precision.Operand(x), precision.Operand(weight));
        var product = plan is null
            ? ConvolutionPlanner.General(input, w, null, mask.to(input.dtype), 3, dilation)
            : ConvolutionPlanner.Apply(input, w, null, plan);
        return ComputePrecision.Result(product, ScalarType.Float32, bias.view(1, -1, 1, 1));
    }

    /// <summary>The general path and every other path forced (those that do not apply to the mask fall back to another).</summary>
    private static IEnumerable<(string Name, MaskPlan? Plan)> Plans(Tensor mask, int h, int w, int dilation, ScalarType dtype)
    {
        MaskPlan Make(bool periodic, bool gathered, Func<IReadOnlyList<int>, (int, int, int, int)?>? box = null, long? chunk = null, PlanCosts? costs = null) =>
            MaskPlan.Create(mask, h, w, 3, dilation, InChannels, dtype, CPU, box, chunk, periodic, costs ?? PlanCosts.CpuTable, gathered, OutChannels, Batch);

        yield return ("general", null);
        yield return ("periodic", Make(true, false));
        yield return ("gathered", Make(false, true));
        yield return ("gathered in chunks", Make(false, true, chunk: 3));
        yield return ("gathered per pattern", Make(false, true, costs: PlanCosts.CpuTable with { OperationSeconds = 0, ProductHalfFlops = 0 }));
        yield return ("dense box and wide columns", Make(false, false));
        yield return ("a one-tap box and columns in chunks", Make(false, false, full => full.Count > 0 ? (full[0] / 3, full[0] / 3, full[0] % 3, full[0] % 3) : null, chunk: 1));
        yield return ("wide columns only", Make(false, false, _ => null));
        yield return ("columns only, in chunks", Make(false, false, _ => null, chunk: 1));
    }

    /// <summary>The largest absolute difference relative to the reference's largest magnitude, in float64.</summary>
    internal static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var reference = expected.detach().to(ScalarType.Float64);
        return (actual.detach().to(ScalarType.Float64) - reference).abs().max().item<double>() / reference.abs().max().item<double>();
    }
}
