using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Layers;

namespace LocallyMasked.Tests.Models;

public class AutoregressiveStructureTests
{
    public static TheoryData<string> OrderNames => new() { "raster", "s-curve", "zig-zag", "hilbert", "generalized-hilbert", "transposed-s-curve" };

    private static GenerationOrder OrderNamed(string name) => name switch
    {
        "raster" => GenerationOrders.Raster(6, 6),
        "s-curve" => GenerationOrders.SCurve(6, 6),
        "zig-zag" => GenerationOrders.ZigZag(6, 6),
        "hilbert" => GenerationOrders.Hilbert(8),
        "generalized-hilbert" => GenerationOrders.GeneralizedHilbert(6, 6),
        "transposed-s-curve" => GenerationOrders.SCurve(6, 6).Transform(OrderSymmetry.TransposeReflectColumns),
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// |d output(pixel p of image n) / d x(image m, pixel q)| summed over channels: (N, HW, N, HW).
    /// One backward pass: the batch is copied once per (n, p), and copy (n, p) only back-propagates
    /// output (n, p), so every copy's input gradient is one row of the Jacobian.
    /// </summary>
    private static double[,,,] Dependencies(Func<Tensor, int, Tensor> perPixelOutput, Tensor x)
    {
        int n = (int)x.shape[0], h = (int)x.shape[2], w = (int)x.shape[3], pixels = h * w, copies = n * pixels;
        var input = x.repeat(copies, 1, 1, 1).requires_grad_(true);
        var output = perPixelOutput(input, copies); // (copies * N, [M,] H, W)
        if (output.dim() == 4) output = output.sum(dim: 1L);
        var selector = zeros(copies * n, h, w, dtype: output.dtype);
        for (int img = 0; img < n; img++)
            for (int p = 0; p < pixels; p++)
                selector[(img * pixels + p) * n + img, p / w, p % w] = tensor(1.0, dtype: output.dtype);
        var grad = autograd.grad(new[] { (output * selector).sum() }, new[] { input })[0];
        var flat = grad.abs().sum(dim: 1L).reshape(copies, n, pixels).data<double>().ToArray();
        var result = new double[n, pixels, n, pixels];
        for (int img = 0; img < n; img++)
            for (int p = 0; p < pixels; p++)
                for (int m = 0; m < n; m++)
                    for (int q = 0; q < pixels; q++)
                        result[img, p, m, q] = flat[((img * pixels + p) * n + m) * pixels + q];
        return result;
    }

    private static IReadOnlyList<GenerationOrder> Repeat(IReadOnlyList<GenerationOrder> orders, int copies) =>
        Enumerable.Range(0, copies).SelectMany(_ => orders).ToArray();

    private static void AssertAutoregressive(double[,,,] dep, IReadOnlyList<GenerationOrder> orders, bool includeSelf)
    {
        int n = orders.Count, pixels = orders[0].PixelCount;
        for (int img = 0; img < n; img++)
        {
            var ranks = orders[img].Ranks;
            for (int p = 0; p < pixels; p++)
            {
                for (int m = 0; m < n; m++)
                {
                    for (int q = 0; q < pixels; q++)
                    {
                        bool allowed = m == img && (ranks[q] < ranks[p] || (includeSelf && q == p));
                        if (!allowed)
                            dep[img, p, m, q].Should().Be(0.0, $"image {img} pixel {p} (rank {ranks[p]}) must not see image {m} pixel {q} (rank {orders[m].Ranks[q]})");
                    }
                }
                if (ranks[p] > 0)
                {
                    // Every earlier pixel in the 3x3 neighbourhood is seen directly by the first layer.
                    int width = orders[img].Width, height = orders[img].Height;
                    for (int q = 0; q < pixels; q++)
                    {
                        bool neighbour = Math.Abs(q / width - p / width) <= 1 && Math.Abs(q % width - p % width) <= 1;
                        if (neighbour && ranks[q] < ranks[p])
                            dep[img, p, img, q].Should().BeGreaterThan(0.0, $"image {img} pixel {p} should see its earlier neighbour {q}");
                    }
                    Enumerable.Range(0, pixels).Count(q => dep[img, p, img, q] > 0 && q != p).Should().BeGreaterThan(0);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(OrderNames))]
    public void Network_outputs_depend_only_on_earlier_pixels(string orderName)
    {
        var order = OrderNamed(orderName);
        var config = TinyModels.Rgb(order.Height);
        using var model = TinyModels.Create(config);
        var x = TinyModels.Images(config, 1);
        var dep = Dependencies((input, _) => model.forward(input, model.MasksFor(order)), x);
        AssertAutoregressive(dep, new[] { order }, includeSelf: false);
    }

    [Theory]
    [MemberData(nameof(OrderNames))]
    public void Pixel_log_likelihoods_depend_only_on_earlier_pixels_and_the_pixel_itself(string orderName)
    {
        var order = OrderNamed(orderName);
        var config = TinyModels.Rgb(order.Height);
        using var model = TinyModels.Create(config, seed: 3);
        // Interior values so that the log-likelihood is differentiable in x (edge bins are flat in x only through the CDF).
        var x = TinyModels.Images(config, 1) * 0.9;
        var dep = Dependencies((input, _) => model.LogLikelihoodPerPixel(input, order), x);
        AssertAutoregressive(dep, new[] { order }, includeSelf: true);
    }

    [Fact]
    public void Per_sample_orders_give_each_image_its_own_order_and_no_cross_talk()
    {
        var config = TinyModels.Grey(6);
        using var model = TinyModels.Create(config, seed: 5);
        var orders = new[]
        {
            GenerationOrders.Raster(6, 6),
            GenerationOrders.SCurve(6, 6).Transform(OrderSymmetry.TransposeReflectBoth),
            GenerationOrders.ZigZag(6, 6).Transform(OrderSymmetry.ReflectRows),
        };
        var x = TinyModels.Images(config, 3);
        var dep = Dependencies((input, copies) => model.forward(input, model.MasksFor(Repeat(orders, copies))), x);
        AssertAutoregressive(dep, orders, includeSelf: false);
    }

    [Theory]
    [InlineData(FeatureNormalization.WeightNorm, true)]
    [InlineData(FeatureNormalization.None, false)]
    [InlineData(FeatureNormalization.OrderRescale, false)]
    [InlineData(FeatureNormalization.OrderRescale, true)]
    public void Other_normalizations_and_learned_mask_weights_stay_autoregressive(FeatureNormalization normalization, bool maskWeight)
    {
        var config = TinyModels.Grey(6) with { Normalization = normalization, LearnWeightForMasks = maskWeight, ConvolutionBias = !maskWeight };
        using var model = TinyModels.Create(config, seed: 7);
        var order = GenerationOrders.SCurve(6, 6).Transform(OrderSymmetry.Transpose);
        var x = TinyModels.Images(config, 1);
        var dep = Dependencies((input, _) => model.forward(input, model.MasksFor(order)), x);
        AssertAutoregressive(dep, new[] { order }, includeSelf: false);
    }
}
