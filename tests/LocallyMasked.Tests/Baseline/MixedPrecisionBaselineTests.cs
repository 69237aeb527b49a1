using LocallyMasked.Layers;
using LocallyMasked.Numerics;
using LocallyMasked.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Baseline;

/// <summary>
/// The baseline's shifted convolutions (plain and transposed) and its gated residual block in bf16-mixed precision
/// against float32, forward and backward, within the bf16 tolerance; parameters and gradients stay float32.
/// </summary>
public sealed class MixedPrecisionBaselineTests
{
    [Fact]
    public void EveryShiftedConvolutionInBFloat16StaysWithinTheToleranceOfFloat32()
    {
        manual_seed(12);
        using var scope = NewDisposeScope();
        var layers = new (string Name, nn.Module<Tensor, Tensor> Layer, long[] Input)[]
        {
            ("down-shifted", new DownShiftedConv2d(6, 8, shiftOutputDown: true), new long[] { 2, 6, 6, 5 }),
            ("down-shifted, stride 2", new DownShiftedConv2d(6, 8, stride: 2), new long[] { 2, 6, 6, 6 }),
            ("down-right-shifted", new DownRightShiftedConv2d(6, 8, shiftOutputRight: true), new long[] { 2, 6, 6, 5 }),
            ("down-shifted transposed", new DownShiftedConvTranspose2d(6, 8), new long[] { 2, 6, 3, 4 }),
            ("down-right-shifted transposed", new DownRightShiftedConvTranspose2d(6, 8), new long[] { 2, 6, 3, 4 }),
        };
        foreach (var (name, layer, shape) in layers)
        {
            var x = randn(shape, requires_grad: true);
            var r = randn(layer.forward(x).shape);
            var convolution = (IShiftedConvolution)layer;
            var act = () => MixedPrecisionLayerChecks.ForwardAndBackward(p => convolution.Forward(x, p), layer.parameters().Prepend(x).ToArray(), r);
            act.Should().NotThrow(name);
        }
    }

    [Fact]
    public void TheGatedResidualBlockWithASkipInputInBFloat16StaysWithinTheToleranceOfFloat32()
    {
        manual_seed(13);
        using var scope = NewDisposeScope();
        var block = new ShiftedGatedResidualBlock(6, ShiftedStream.AboveAndLeft, 6, 0.5);
        block.eval();
        var (u, skip) = (randn(new long[] { 2, 6, 5, 5 }, requires_grad: true), randn(new long[] { 2, 6, 5, 5 }, requires_grad: true));
        MixedPrecisionLayerChecks.ForwardAndBackward(p => block.Forward(u, skip, null, p), block.parameters().Prepend(skip).Prepend(u).ToArray(),
            randn(2, 6, 5, 5));
    }
}
