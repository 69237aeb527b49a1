using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Baseline;

/// <summary>
/// The baseline's layers: float64 gradients of the weight-normalized shifted convolutions against finite differences,
/// output sizes and receptive fields of the shifted and transposed convolutions, weight normalization per input channel
/// for the transposed ones, dropout only in training mode, and float32 models.
/// </summary>
public class BaselineLayerTests
{
    /// <summary>
    /// Autograd gradient of loss = sum(layer(x) * r) with respect to x and every parameter, against central differences
    /// (step 1e-6) of the same loss, entry by entry.
    /// </summary>
    private static void AssertGradientsMatchFiniteDifferences(nn.Module<Tensor, Tensor> layer, Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.detach().requires_grad_(true);
        var r = randn(layer.forward(x).shape, dtype: ScalarType.Float64);
        Tensor Loss() => (layer.forward(x) * r).sum();
        var parameters = layer.named_parameters().ToArray();
        var inputs = parameters.Select(p => (Tensor)p.parameter).Prepend(x).ToArray();
        var names = parameters.Select(p => p.name).Prepend("input").ToArray();
        var analytic = autograd.grad(new[] { Loss() }, inputs);
        const double step = 1e-6;
        using (no_grad())
        {
            for (int t = 0; t < inputs.Length; t++)
            {
                var flat = inputs[t].view(-1);
                var expected = analytic[t].reshape(-1).data<double>().ToArray();
                for (long i = 0; i < flat.shape[0]; i++)
                {
                    double original = flat[i].item<double>();
                    flat[i] = tensor(original + step, dtype: ScalarType.Float64);
                    double plus = Loss().item<double>();
                    flat[i] = tensor(original - step, dtype: ScalarType.Float64);
                    double minus = Loss().item<double>();
                    flat[i] = tensor(original, dtype: ScalarType.Float64);
                    double numeric = (plus - minus) / (2 * step);
                    expected[i].Should().BeApproximately(numeric, 1e-6 * Math.Max(1.0, Math.Abs(numeric)), $"{names[t]}[{i}]");
                }
            }
        }
    }

    [Fact]
    public void Weight_normalized_shifted_convolutions_have_the_finite_difference_gradients()
    {
        manual_seed(6);
        AssertGradientsMatchFiniteDifferences(new DownShiftedConv2d(2, 3, dtype: ScalarType.Float64), randn(1, 2, 4, 5, dtype: ScalarType.Float64));
        AssertGradientsMatchFiniteDifferences(new DownRightShiftedConv2d(2, 2, stride: 2, shiftOutputRight: true, dtype: ScalarType.Float64),
            randn(1, 2, 4, 4, dtype: ScalarType.Float64));
        AssertGradientsMatchFiniteDifferences(new DownShiftedConvTranspose2d(2, 2, dtype: ScalarType.Float64), randn(1, 2, 2, 3, dtype: ScalarType.Float64));
    }

    [Fact]
    public void Shifted_convolutions_keep_or_halve_the_size_and_transposed_ones_double_it()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 8, 12);
        new DownShiftedConv2d(3, 5).forward(x).shape.Should().Equal(2, 5, 8, 12);
        new DownRightShiftedConv2d(3, 5).forward(x).shape.Should().Equal(2, 5, 8, 12);
        new DownShiftedConv2d(3, 5, stride: 2).forward(x).shape.Should().Equal(2, 5, 4, 6);
        new DownRightShiftedConv2d(3, 5, stride: 2).forward(x).shape.Should().Equal(2, 5, 4, 6);
        new DownShiftedConvTranspose2d(3, 5).forward(x).shape.Should().Equal(2, 5, 16, 24);
        new DownRightShiftedConvTranspose2d(3, 5).forward(x).shape.Should().Equal(2, 5, 16, 24);
        new DownShiftedConv2d(3, 5, kernelHeight: 1, shiftOutputDown: true).forward(x).shape.Should().Equal(2, 5, 8, 12);
        new DownRightShiftedConv2d(3, 5, kernelWidth: 1, shiftOutputRight: true).forward(x).shape.Should().Equal(2, 5, 8, 12);
    }

    [Fact]
    public void Shifted_convolutions_see_only_the_rows_above_or_the_pixels_above_and_to_the_left()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        // One output position's input gradient: its receptive field.
        static bool[,] Field(nn.Module<Tensor, Tensor> layer, int row, int column)
        {
            var x = randn(1, 1, 6, 6, dtype: ScalarType.Float64).requires_grad_(true);
            var grad = autograd.grad(new[] { layer.forward(x)[0, 0, row, column] }, new[] { x })[0];
            var values = grad.reshape(36).data<double>().ToArray();
            var field = new bool[6, 6];
            for (int i = 0; i < 36; i++) field[i / 6, i % 6] = values[i] != 0;
            return field;
        }
        static IEnumerable<(int Row, int Column)> Cells(bool[,] field) =>
            from r in Enumerable.Range(0, 6) from c in Enumerable.Range(0, 6) where field[r, c] select (r, c);

        Cells(Field(new DownShiftedConv2d(1, 1, dtype: ScalarType.Float64), 3, 3)).Should().BeEquivalentTo(new[] { (2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4) });
        Cells(Field(new DownShiftedConv2d(1, 1, shiftOutputDown: true, dtype: ScalarType.Float64), 3, 3)).Should().BeEquivalentTo(new[] { (1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4) });
        Cells(Field(new DownRightShiftedConv2d(1, 1, dtype: ScalarType.Float64), 3, 3)).Should().BeEquivalentTo(new[] { (2, 2), (2, 3), (3, 2), (3, 3) });
        Cells(Field(new DownRightShiftedConv2d(1, 1, kernelWidth: 1, shiftOutputRight: true, dtype: ScalarType.Float64), 3, 3)).Should().BeEquivalentTo(new[] { (2, 2), (3, 2) });
        Cells(Field(new DownShiftedConv2d(1, 1, kernelHeight: 1, shiftOutputDown: true, dtype: ScalarType.Float64), 3, 3)).Should().BeEquivalentTo(new[] { (2, 2), (2, 3), (2, 4) });
    }

    [Fact]
    public void Transposed_convolutions_normalize_each_input_channel_as_torch_weight_norm_does()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var layer = new WeightNormalizedConvTranspose2d(3, 5, 2, 3, stride: 2, outputPadding: 1, dtype: ScalarType.Float64);
        var parameters = layer.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        parameters["weight_g"].shape.Should().Equal(3, 1, 1, 1);
        parameters["weight_v"].shape.Should().Equal(3, 5, 2, 3);
        parameters["bias"].shape.Should().Equal(5);
        using (no_grad()) parameters["weight_g"].copy_(tensor(new[] { 0.5, 2.0, 3.0 }, dtype: ScalarType.Float64).reshape(3, 1, 1, 1));
        var norms = layer.EffectiveWeight().square().sum(new long[] { 1, 2, 3 }).sqrt().data<double>().ToArray();
        norms.Should().BeEquivalentTo(new[] { 0.5, 2.0, 3.0 }, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());

        var conv = new WeightNormalizedConv2d(3, 5, 2, 3, dtype: ScalarType.Float64);
        conv.named_parameters().Single(p => p.name == "weight_g").parameter.shape.Should().Equal(5, 1, 1, 1);
    }

    [Fact]
    public void Dropout_acts_in_training_mode_only()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var config = new PixelCnnPlusPlusConfig { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2 };
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        var x = PixelLikelihood.Quantize(rand(2, 3, 8, 8, dtype: ScalarType.Float64) * 2 - 1, 8);
        model.eval();
        var first = model.forward(x);
        (model.forward(x) - first).abs().max().item<double>().Should().Be(0.0);
        model.train();
        (model.forward(x) - first).abs().max().item<double>().Should().BeGreaterThan(0.0);
        using var noDropout = new PixelCnnPlusPlus(config with { Dropout = 0 }, dtype: ScalarType.Float64);
        noDropout.LoadStateDict(model.state_dict());
        noDropout.train();
        (noDropout.forward(x) - first).abs().max().item<double>().Should().Be(0.0);
    }

    [Fact]
    public void A_float32_model_takes_float32_images_and_trains()
    {
        using var scope = NewDisposeScope();
        manual_seed(10);
        var config = PixelCnnPlusPlusConfig.GreyMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2 };
        using var model = new PixelCnnPlusPlus(config);
        model.DType.Should().Be(ScalarType.Float32);
        var x = PixelLikelihood.Quantize(rand(3, 1, 8, 8) * 2 - 1, 8);
        var nll = -model.LogLikelihood(x).sum();
        nll.dtype.Should().Be(ScalarType.Float32);
        nll.backward();
        model.parameters().Should().OnlyContain(p => !ReferenceEquals(p.grad, null));
        double.IsFinite(nll.item<float>()).Should().BeTrue();
    }
}
