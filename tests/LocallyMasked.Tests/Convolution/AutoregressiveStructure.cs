using LocallyMasked.Convolution;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>Checks a layer's dependency structure through its Jacobian, one output pixel at a time.</summary>
internal static class AutoregressiveStructure
{
    /// <summary>
    /// Asserts, for a single image, that output pixel p depends on input pixel q only if rank(q) &lt; rank(p)
    /// (or q == p for type B), and that every such q inside p's dilated kernel window is a real (non-zero)
    /// dependency with random weights.
    /// </summary>
    public static void Check(LocallyMaskedConv2d layer, Tensor mask, IReadOnlyList<int> ranks, int h, int w, bool typeB, string because)
    {
        using var scope = NewDisposeScope();
        var x = randn(1, layer.InChannels, h, w, dtype: ScalarType.Float64, requires_grad: true);
        var output = layer.forward(x, mask);
        var half = layer.KernelSize / 2;
        for (var p = 0; p < h * w; p++)
        {
            using var inner = NewDisposeScope();
            var (pi, pj) = (p / w, p % w);
            var pixelOutput = output.select(2, pi).select(2, pj).sum();
            var gradient = autograd.grad(new[] { pixelOutput }, new[] { x }, retain_graph: true)[0];
            var dependence = gradient.abs().sum(new long[] { 0, 1 }).view(-1);
            var values = dependence.data<double>().ToArray();
            for (var q = 0; q < h * w; q++)
            {
                var (qi, qj) = (q / w, q % w);
                var allowed = ranks[q] < ranks[p] || (typeB && q == p);
                var (di, dj) = (qi - pi, qj - pj);
                var inWindow = di % layer.Dilation == 0 && dj % layer.Dilation == 0
                    && Math.Abs(di / layer.Dilation) <= half && Math.Abs(dj / layer.Dilation) <= half;
                if (!allowed)
                    values[q].Should().Be(0.0, $"{because}: output {p} must not see input {q} (ranks {ranks[p]}, {ranks[q]})");
                else if (inWindow)
                    values[q].Should().BeGreaterThan(1e-12, $"{because}: output {p} must see input {q} (ranks {ranks[p]}, {ranks[q]})");
                else
                    values[q].Should().Be(0.0, $"{because}: input {q} is outside the kernel window of output {p}");
            }
        }
    }
}
