using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Baseline;

/// <summary>
/// The baseline is autoregressive in raster order: in float64, the distribution parameters of pixel p have an exactly
/// zero gradient with respect to every input value at or after p, and a non-zero one with respect to p's left and
/// upper neighbours (so the test is not vacuous).
/// </summary>
public class BaselineStructureTests
{
    private static PixelCnnPlusPlusConfig Tiny(int channels, int height, int width) => new()
    {
        ImageChannels = channels,
        Height = height,
        Width = width,
        Filters = 4,
        ResidualBlocks = 1,
        MixtureComponents = 2,
        Likelihood = channels == 3 ? LikelihoodKind.RgbLogisticMixture : LikelihoodKind.GreyLogisticMixture,
    };

    /// <summary>
    /// |d f(pixel p) / d x(channel c, pixel q)| as (HW, C, HW), in one backward pass: the image is copied once per
    /// pixel p and copy p only back-propagates f at pixel p.
    /// </summary>
    private static double[,,] Dependencies(Func<Tensor, Tensor> perPixel, Tensor image)
    {
        int c = (int)image.shape[1], h = (int)image.shape[2], w = (int)image.shape[3], pixels = h * w;
        var input = image.repeat(pixels, 1, 1, 1).requires_grad_(true);
        var output = perPixel(input); // (HW, H, W)
        var selector = eye(pixels, dtype: ScalarType.Float64).reshape(pixels, h, w);
        var grad = autograd.grad(new[] { (output * selector).sum() }, new[] { input })[0];
        var flat = grad.abs().reshape(pixels, c, pixels).data<double>().ToArray();
        var result = new double[pixels, c, pixels];
        for (int p = 0; p < pixels; p++)
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < pixels; q++)
                    result[p, ch, q] = flat[(p * c + ch) * pixels + q];
        return result;
    }

    [Theory]
    [InlineData(3, 8, 8)]
    [InlineData(1, 8, 12)]
    [InlineData(3, 12, 4)]
    public void The_parameters_of_pixel_p_depend_only_on_the_pixels_before_p_in_raster_order(int channels, int height, int width)
    {
        using var scope = NewDisposeScope();
        var config = Tiny(channels, height, width);
        manual_seed(3);
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        model.eval();
        var image = rand(1, channels, height, width, dtype: ScalarType.Float64) * 2 - 1;
        // A fixed random combination of the parameters, so that no two of them can cancel.
        var mix = randn(config.ParameterChannels, dtype: ScalarType.Float64).reshape(1, -1, 1, 1);

        var dep = Dependencies(x => (model.forward(x) * mix).sum(dim: 1L), image);

        int pixels = height * width;
        for (int p = 0; p < pixels; p++)
        {
            int row = p / width, column = p % width;
            for (int ch = 0; ch < channels; ch++)
            {
                for (int q = p; q < pixels; q++)
                    dep[p, ch, q].Should().Be(0.0, $"pixel {p} must not see channel {ch} of pixel {q}");
                if (column > 0) dep[p, ch, p - 1].Should().BeGreaterThan(0.0, $"pixel {p} should see channel {ch} of its left neighbour");
                if (row > 0) dep[p, ch, p - width].Should().BeGreaterThan(0.0, $"pixel {p} should see channel {ch} of the pixel above");
            }
        }
    }

    [Fact]
    public void The_log_likelihood_of_pixel_p_depends_on_the_pixels_before_p_and_on_p_itself_only()
    {
        // For RGB the likelihood couples the channels inside a pixel (green's mean moves with red, blue's with red and
        // green), so pixel p's term sees p's own values too; nothing after p.
        using var scope = NewDisposeScope();
        var config = Tiny(3, 8, 8);
        manual_seed(4);
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        model.eval();
        var image = PixelLikelihood.Quantize(rand(1, 3, 8, 8, dtype: ScalarType.Float64) * 1.6 - 0.8, 8);

        var dep = Dependencies(model.LogLikelihoodPerPixel, image);

        for (int p = 0; p < 64; p++)
        {
            for (int ch = 0; ch < 3; ch++)
            {
                for (int q = p + 1; q < 64; q++) dep[p, ch, q].Should().Be(0.0, $"pixel {p}'s term must not see channel {ch} of pixel {q}");
                dep[p, ch, p].Should().BeGreaterThan(0.0, $"pixel {p}'s term depends on its own channel {ch}");
            }
        }
    }
}
