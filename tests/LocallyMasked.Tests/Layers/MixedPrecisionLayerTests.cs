using LocallyMasked.Layers;
using LocallyMasked.Numerics;
using LocallyMasked.Tests.Convolution;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Layers;

/// <summary>
/// The 1x1 layers in bf16-mixed precision against float32, forward and backward, within the bf16 tolerance of
/// <see cref="MixedPrecisionConvolutionTests"/>; their parameters and gradients stay float32.
/// </summary>
public sealed class MixedPrecisionLayerTests
{
    [Fact]
    public void TheNetworkInNetworkLayerInBFloat16StaysWithinTheToleranceOfFloat32ForwardAndBackward()
    {
        manual_seed(11);
        using var scope = NewDisposeScope();
        var layer = new NetworkInNetwork(24, 10);
        var x = randn(3, 24, 5, 4, requires_grad: true);
        var r = randn(3, 10, 5, 4);
        MixedPrecisionLayerChecks.ForwardAndBackward(p => layer.Forward(x, p), layer.parameters().Prepend(x).ToArray(), r);
    }

    [Fact]
    public void BFloat16WithFloat64ParametersIsAnErrorNamingThePrecision()
    {
        using var scope = NewDisposeScope();
        var layer = new NetworkInNetwork(4, 2, dtype: ScalarType.Float64);
        var act = () => layer.Forward(randn(1, 4, dtype: ScalarType.Float64), ComputePrecision.BFloat16Mixed);
        act.Should().Throw<ArgumentException>().WithParameterName("precision").WithMessage("*float32 master weights*");
    }
}

/// <summary>What the mixed-precision layer tests check of a layer.</summary>
internal static class MixedPrecisionLayerChecks
{
    /// <summary>
    /// The layer's output and the gradients of sum(output * r) with respect to <paramref name="inputs"/> (float32 leaves)
    /// in bf16-mixed: float32, within the bf16 tolerance of the float32 ones, and the output differing from them by more
    /// than float32 rounding (the products ran in bf16).
    /// </summary>
    public static void ForwardAndBackward(Func<ComputePrecision, Tensor> layer, Tensor[] inputs, Tensor r)
    {
        var full = layer(ComputePrecision.Float32);
        var fullGradients = autograd.grad(new[] { (full * r).sum() }, inputs);
        var mixed = layer(ComputePrecision.BFloat16Mixed);
        var mixedGradients = autograd.grad(new[] { (mixed * r).sum() }, inputs);
        mixed.dtype.Should().Be(ScalarType.Float32);
        MixedPrecisionConvolutionTests.RelativeError(mixed, full).Should().BeInRange(1e-4, MixedPrecisionConvolutionTests.BFloat16Tolerance);
        for (var i = 0; i < inputs.Length; i++)
        {
            mixedGradients[i].dtype.Should().Be(ScalarType.Float32, $"gradient {i}");
            MixedPrecisionConvolutionTests.RelativeError(mixedGradients[i], fullGradients[i]).Should().BeLessThan(MixedPrecisionConvolutionTests.BFloat16Tolerance, $"gradient {i}");
        }
    }
}
