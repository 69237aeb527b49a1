using LocallyMasked.Layers;
using LocallyMasked.Orders;
using LocallyMasked.Masks;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Layers;

public class LayerTests
{
    [Fact]
    public void Positional_normalization_uses_the_per_pixel_channel_mean_and_unbiased_variance()
    {
        manual_seed(1);
        var x = randn(2, 5, 3, 4, dtype: ScalarType.Float64) * 3 + 1;
        var y = PositionalNormalization.Apply(x);
        var xs = x.data<double>().ToArray();
        var ys = y.data<double>().ToArray();
        for (int n = 0; n < 2; n++)
            for (int p = 0; p < 12; p++)
            {
                var v = Enumerable.Range(0, 5).Select(c => xs[(n * 5 + c) * 12 + p]).ToArray();
                double mean = v.Average();
                double variance = v.Sum(a => (a - mean) * (a - mean)) / 4.0;
                for (int c = 0; c < 5; c++)
                    ys[(n * 5 + c) * 12 + p].Should().BeApproximately((v[c] - mean) / Math.Sqrt(variance + 1e-5), 1e-12);
            }
    }

    [Theory]
    [InlineData(new long[] { 3, 6, 4, 5 })]
    [InlineData(new long[] { 7, 2 })]
    [InlineData(new long[] { 2, 4, 3 })]
    public void Positional_normalization_equals_the_plain_mean_and_variance_formula_with_its_gradient(long[] shape)
    {
        // The layer computes PONO as one fused layer_norm; the plain composition is the reference.
        manual_seed(2);
        var x = (randn(shape, dtype: ScalarType.Float64) * 2 + 0.5).requires_grad_(true);
        var outputGradient = randn(shape, dtype: ScalarType.Float64);
        var fast = PositionalNormalization.Apply(x);
        var fastGradient = autograd.grad(new[] { fast }, new[] { x }, new[] { outputGradient })[0];
        var mean = x.mean(new long[] { 1 }, keepdim: true);
        var variance = x.var(1L, unbiased: true, keepdim: true);
        var plain = (x - mean) / (variance + PositionalNormalization.Epsilon).sqrt();
        var plainGradient = autograd.grad(new[] { plain }, new[] { x }, new[] { outputGradient })[0];
        fast.shape.Should().Equal(shape);
        (fast - plain).abs().max().item<double>().Should().BeLessThan(1e-12);
        (fastGradient - plainGradient).abs().max().item<double>().Should().BeLessThan(1e-11);
    }

    [Fact]
    public void Concat_elu_doubles_the_channels_with_both_signs()
    {
        var x = tensor(new double[] { -2.0, 0.5, 3.0, -0.1 }).reshape(1, 2, 1, 2);
        var y = ConcatElu.Apply(x).data<double>().ToArray();
        double Elu(double a) => a > 0 ? a : Math.Exp(a) - 1;
        y.Should().HaveCount(8);
        var expected = new[] { -2.0, 0.5, 3.0, -0.1, 2.0, -0.5, -3.0, 0.1 }.Select(Elu).ToArray();
        for (int i = 0; i < 8; i++) y[i].Should().BeApproximately(expected[i], 1e-15);
    }

    [Fact]
    public void Weight_normalized_linear_rows_have_norm_g_and_start_equal_to_v()
    {
        manual_seed(2);
        using var layer = new WeightNormalizedLinear(6, 3, dtype: ScalarType.Float64);
        var sd = layer.state_dict();
        sd.Keys.Should().BeEquivalentTo("weight_v", "weight_g", "bias");
        sd["weight_g"].shape.Should().Equal(3, 1);
        layer.EffectiveWeight().allclose(sd["weight_v"], 1e-12, 1e-12).Should().BeTrue();
        using (no_grad()) sd["weight_g"].copy_(tensor(new[] { 2.0, -0.5, 3.0 }, dtype: ScalarType.Float64).reshape(3, 1));
        var w = layer.EffectiveWeight();
        w.norm(1).allclose(tensor(new[] { 2.0, 0.5, 3.0 }, dtype: ScalarType.Float64), 1e-12, 1e-12).Should().BeTrue();
        var x = randn(4, 6, dtype: ScalarType.Float64);
        layer.forward(x).allclose(x.matmul(w.t()) + sd["bias"], 1e-12, 1e-12).Should().BeTrue();
    }

    [Fact]
    public void Network_in_network_is_a_1x1_layer_named_lin_a()
    {
        manual_seed(3);
        using var nin = new NetworkInNetwork(4, 2, dtype: ScalarType.Float64);
        nin.state_dict().Keys.Should().BeEquivalentTo("lin_a.weight_v", "lin_a.weight_g", "lin_a.bias");
        var x = randn(2, 4, 3, 3, dtype: ScalarType.Float64);
        var w = nin.Linear.EffectiveWeight();
        var expected = nn.functional.conv2d(x, w.reshape(2, 4, 1, 1), nin.state_dict()["lin_a.bias"]);
        nin.forward(x).allclose(expected, 1e-12, 1e-12).Should().BeTrue();
        nin.forward(randn(5, 4, dtype: ScalarType.Float64)).shape.Should().Equal(5, 2);
    }

    [Fact]
    public void Gated_block_follows_the_reference_formula()
    {
        manual_seed(4);
        using var block = new GatedResidualBlock(3, hasSkipInput: true, kernelSize: 3, normalization: FeatureNormalization.Pono,
            dropout: 0, bias: true, maskWeight: false, dtype: ScalarType.Float64);
        var order = GenerationOrders.SCurve(4, 4);
        var mask = LocalMasks.Create(order, 3, 1, MaskType.B, dtype: ScalarType.Float64);
        var u = randn(2, 3, 4, 4, dtype: ScalarType.Float64);
        var a = randn(2, 3, 4, 4, dtype: ScalarType.Float64);

        var t = PositionalNormalization.Apply(block.InputConvolution.forward(ConcatElu.Apply(u), mask));
        t = t + block.SkipLayer!.forward(ConcatElu.Apply(a));
        t = block.OutputConvolution.forward(ConcatElu.Apply(t), mask);
        var expected = u + PositionalNormalization.Apply(t[.., 0..3]) * t[.., 3..6].sigmoid();

        block.forward(u, a, mask).allclose(expected, 1e-12, 1e-12).Should().BeTrue();
        Action act = () => block.forward(u, null, mask);
        act.Should().Throw<ArgumentException>().WithParameterName("skip");
    }
}
