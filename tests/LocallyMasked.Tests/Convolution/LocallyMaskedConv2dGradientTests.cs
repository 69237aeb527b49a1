using LocallyMasked.Convolution;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

public sealed class LocallyMaskedConv2dGradientTests
{
    public static TheoryData<bool, int, bool, bool> Cases()
    {
        var data = new TheoryData<bool, int, bool, bool>();
        foreach (var perSample in new[] { false, true })
            foreach (var dilation in new[] { 1, 2 })
            {
                data.Add(perSample, dilation, false, false);
                data.Add(perSample, dilation, true, true);
            }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferencesAndTheNaiveComposition(bool perSample, int dilation, bool maskWeight, bool weightNormalization)
    {
        manual_seed(10 + dilation);
        using var scope = NewDisposeScope();
        const int h = 7, w = 5;
        var layer = new LocallyMaskedConv2d(3, 4, 3, dilation, true, maskWeight, weightNormalization, dtype: ScalarType.Float64);
        using (no_grad())
        {
            // A mask weight of a larger scale than its initialisation, so that its term weighs in the output.
            layer.get_parameter("mask_weight")?.uniform_(0.5, 1.5);
        }

        var mask = perSample
            ? TestMasks.PerSample(h, w, new[] { TestMasks.SCurveRanks(h, w), TestMasks.RandomRanks(h, w, 5) }, 3, dilation, true)
            : TestMasks.Tensor(h, w, TestMasks.RandomRanks(h, w, 4), 3, dilation, false);
        var x = randn(2, 3, h, w, dtype: ScalarType.Float64, requires_grad: true);
        var r = randn(2, 4, h, w, dtype: ScalarType.Float64);
        var parameters = layer.named_parameters().ToList();
        var leaves = new List<(string Name, Tensor Tensor)> { ("x", x) };
        leaves.AddRange(parameters.Select(p => (p.name, (Tensor)p.parameter)));

        // Analytic gradients of the layer.
        var loss = (layer.forward(x, mask) * r).sum();
        var layerGradients = autograd.grad(new[] { loss }, leaves.Select(l => l.Tensor).ToArray());

        // Plain autograd of unfold -> mask -> contraction, with the same parameters.
        var naiveLoss = (Naive(layer, x, mask, dilation) * r).sum();
        var naiveGradients = autograd.grad(new[] { naiveLoss }, leaves.Select(l => l.Tensor).ToArray());

        for (var i = 0; i < leaves.Count; i++)
        {
            var (name, leaf) = leaves[i];
            LocallyMaskedConv2dTests.MaxAbsDifference(layerGradients[i], naiveGradients[i])
                .Should().BeLessThan(1e-10, $"the gradient of {name} equals the naive composition's");

            var numeric = FiniteDifferences(leaf, () => (layer.forward(x, mask) * r).sum().item<double>());
            LocallyMaskedConv2dTests.MaxAbsDifference(layerGradients[i], numeric)
                .Should().BeLessThan(1e-6, $"the gradient of {name} equals central finite differences");
        }

        // The forward values agree too.
        LocallyMaskedConv2dTests.MaxAbsDifference(layer.forward(x, mask), Naive(layer, x, mask, dilation)).Should().BeLessThan(1e-10);
    }

    [Theory]
    [InlineData("raster")]
    [InlineData("s-curve")]
    [InlineData("random")]
    [InlineData("per-sample")]
    public void TheMaskWeightTermIsTheSameOnEveryPlannedPath(string kind)
    {
        // The term sum_t mask_weight[o, t] * mask[t, p] rides on whichever path the mask's plan picks (dense box, periodic
        // pattern, masked columns, per-sample columns): forward and every gradient equal the naive composition.
        manual_seed(30);
        using var scope = NewDisposeScope();
        const int h = 8, w = 6;
        var layer = new LocallyMaskedConv2d(3, 4, 3, 1, true, maskWeight: true, dtype: ScalarType.Float64);
        var mask = kind switch
        {
            "raster" => TestMasks.Tensor(h, w, TestMasks.RasterRanks(h, w), 3, 1, true),
            "s-curve" => TestMasks.Tensor(h, w, TestMasks.SCurveRanks(h, w), 3, 1, true),
            "random" => TestMasks.Tensor(h, w, TestMasks.RandomRanks(h, w, 3), 3, 1, true),
            _ => TestMasks.PerSample(h, w, new[] { TestMasks.SCurveRanks(h, w), TestMasks.RasterRanks(h, w) }, 3, 1, true),
        };
        var x = randn(2, 3, h, w, dtype: ScalarType.Float64, requires_grad: true);
        var r = randn(2, 4, h, w, dtype: ScalarType.Float64);
        var leaves = new List<Tensor> { x };
        leaves.AddRange(layer.parameters());
        var output = layer.forward(x, mask);
        var naive = Naive(layer, x, mask, 1);
        LocallyMaskedConv2dTests.MaxAbsDifference(output, naive).Should().BeLessThan(1e-10);
        var gradients = autograd.grad(new[] { (output * r).sum() }, leaves);
        var expected = autograd.grad(new[] { (naive * r).sum() }, leaves);
        for (int i = 0; i < leaves.Count; i++)
            LocallyMaskedConv2dTests.MaxAbsDifference(gradients[i], expected[i]).Should().BeLessThan(1e-10);
    }

    [Fact]
    public void MaskGradientIsComputedWhenTheMaskRequiresIt()
    {
        manual_seed(20);
        using var scope = NewDisposeScope();
        var layer = new LocallyMaskedConv2d(3, 4, 3, 1, dtype: ScalarType.Float64);
        var x = randn(2, 3, 7, 5, dtype: ScalarType.Float64);
        var r = randn(2, 4, 7, 5, dtype: ScalarType.Float64);
        foreach (var mask in new[] { rand(9, 35, dtype: ScalarType.Float64), rand(2, 9, 35, dtype: ScalarType.Float64) })
        {
            mask.requires_grad = true;
            var g = autograd.grad(new[] { (layer.forward(x, mask) * r).sum() }, new[] { mask })[0];
            var expected = autograd.grad(new[] { (Naive(layer, x, mask, 1) * r).sum() }, new[] { mask })[0];
            LocallyMaskedConv2dTests.MaxAbsDifference(g, expected).Should().BeLessThan(1e-10);
        }
    }

    private static Tensor Naive(LocallyMaskedConv2d layer, Tensor x, Tensor mask, int dilation)
    {
        Tensor? weight = layer.get_parameter("weight");
        if (weight is null)
        {
            var v = layer.get_parameter("weight_v")!;
            var g = layer.get_parameter("weight_g")!;
            weight = g * v / v.reshape(v.shape[0], -1).square().sum(dim: 1).sqrt().view(-1, 1, 1, 1);
        }

        return NaiveLocallyMaskedConvolution.Forward(x, weight, layer.get_parameter("bias"), mask, 3, dilation, layer.get_parameter("mask_weight"));
    }

    /// <summary>Central differences of a scalar function with respect to every element of a leaf tensor.</summary>
    private static Tensor FiniteDifferences(Tensor leaf, Func<double> function)
    {
        const double step = 1e-6;
        var result = zeros_like(leaf);
        using var noGrad = no_grad();
        var flat = leaf.detach().view(-1);
        var resultFlat = result.view(-1);
        for (long i = 0; i < flat.shape[0]; i++)
        {
            var original = flat[i].item<double>();
            flat[i].fill_(original + step);
            var plus = function();
            flat[i].fill_(original - step);
            var minus = function();
            flat[i].fill_(original);
            resultFlat[i].fill_((plus - minus) / (2 * step));
        }

        return result;
    }
}
