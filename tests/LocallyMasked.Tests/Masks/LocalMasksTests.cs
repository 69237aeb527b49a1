using LocallyMasked.Masks;
using LocallyMasked.Orders;
using LocallyMasked.Tests.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Masks;

public class LocalMasksTests
{
    private static int[,] Kernel(byte[] mask, int k, int pixels, int p)
    {
        var m = new int[k, k];
        for (int t = 0; t < k * k; t++) m[t / k, t % k] = mask[t * pixels + p];
        return m;
    }

    [Fact]
    public void Raster_masks_at_an_interior_pixel_are_the_classic_pixelcnn_masks()
    {
        var order = GenerationOrders.Raster(5, 5);
        int p = 2 * 5 + 2;
        Kernel(LocalMasks.CreateArray(order, 3, 1, MaskType.B), 3, 25, p)
            .Should().BeEquivalentTo(new[,] { { 1, 1, 1 }, { 1, 1, 0 }, { 0, 0, 0 } });
        Kernel(LocalMasks.CreateArray(order, 3, 1, MaskType.A), 3, 25, p)
            .Should().BeEquivalentTo(new[,] { { 1, 1, 1 }, { 1, 0, 0 }, { 0, 0, 0 } });
    }

    [Fact]
    public void S_curve_has_one_pattern_for_even_rows_and_its_mirror_for_odd_rows()
    {
        var order = GenerationOrders.SCurve(5, 5);
        var mask = LocalMasks.CreateArray(order, 3, 1, MaskType.B);
        Kernel(mask, 3, 25, 2 * 5 + 2).Should().BeEquivalentTo(new[,] { { 1, 1, 1 }, { 1, 1, 0 }, { 0, 0, 0 } });
        Kernel(mask, 3, 25, 1 * 5 + 2).Should().BeEquivalentTo(new[,] { { 1, 1, 1 }, { 0, 1, 1 }, { 0, 0, 0 } });
    }

    [Fact]
    public void Padding_taps_are_zero_and_dilation_spreads_the_taps()
    {
        var order = GenerationOrders.Raster(5, 5);
        Kernel(LocalMasks.CreateArray(order, 3, 1, MaskType.B), 3, 25, 0)
            .Should().BeEquivalentTo(new[,] { { 0, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0 } });
        // Dilation 2 at (2, 2): taps land on rows 0, 2, 4 and columns 0, 2, 4.
        Kernel(LocalMasks.CreateArray(order, 3, 2, MaskType.B), 3, 25, 12)
            .Should().BeEquivalentTo(new[,] { { 1, 1, 1 }, { 1, 1, 0 }, { 0, 0, 0 } });
        // Dilation 2 at (1, 1): the top row and left column of taps fall on padding.
        Kernel(LocalMasks.CreateArray(order, 3, 2, MaskType.B), 3, 25, 6)
            .Should().BeEquivalentTo(new[,] { { 0, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0 } });
    }

    [Theory]
    [InlineData("raster", 7, 5, 1)]
    [InlineData("scurve", 8, 8, 2)]
    [InlineData("zigzag", 7, 5, 1)]
    [InlineData("hilbert", 8, 8, 1)]
    [InlineData("gilbert", 7, 5, 2)]
    public void Of_two_pixels_within_reach_exactly_one_sees_the_other(string kind, int h, int w, int dilation)
    {
        var order = GenerationOrderTests.Make(kind, h, w);
        const int k = 3;
        var mask = LocalMasks.CreateArray(order, k, dilation, MaskType.A);
        int n = h * w;
        for (int p = 0; p < n; p++)
        {
            mask[(k * k / 2) * n + p].Should().Be(0, "type A hides the centre");
            for (int t = 0; t < k * k; t++)
            {
                int dr = (t / k - 1) * dilation, dc = (t % k - 1) * dilation;
                int r = p / w + dr, c = p % w + dc;
                if (r < 0 || r >= h || c < 0 || c >= w)
                {
                    mask[t * n + p].Should().Be(0, "padding is never visible");
                    continue;
                }
                if (dr == 0 && dc == 0) continue;
                int q = r * w + c, back = (k * k - 1) - t; // the mirrored tap, from q back to p
                (mask[t * n + p] + mask[back * n + q]).Should().Be(1);
                (mask[t * n + p] == 1).Should().Be(order.Ranks[q] < order.Ranks[p]);
            }
        }
    }

    [Fact]
    public void Observed_pixels_are_always_visible()
    {
        var order = GenerationOrders.Raster(4, 4);
        var observed = new[] { 15, 14, 5 };
        var mask = LocalMasks.CreateArray(order, 3, 1, MaskType.A, observed);
        // Pixel 10 = (2, 2) sees (3, 3) = 15 and (3, 2) = 14 although they come later.
        mask[8 * 16 + 10].Should().Be(1);
        mask[7 * 16 + 10].Should().Be(1);
        mask[6 * 16 + 10].Should().Be(0, "(3, 1) = 13 is later and not observed");
        mask[4 * 16 + 5].Should().Be(1, "an observed pixel is visible at its own centre tap");
    }

    [Fact]
    public void Tensors_have_the_requested_shape_dtype_and_match_the_array()
    {
        var orders = GenerationOrders.SCurve(4, 6).Transform(OrderSymmetry.ReflectColumns);
        var other = GenerationOrders.Raster(4, 6);
        using var single = LocalMasks.Create(orders, 3, 2, MaskType.B, dtype: ScalarType.Float64);
        single.shape.Should().Equal(9, 24);
        single.dtype.Should().Be(ScalarType.Float64);
        single.data<double>().ToArray().Should().Equal(LocalMasks.CreateArray(orders, 3, 2, MaskType.B).Select(b => (double)b));

        using var batch = LocalMasks.Create(new[] { orders, other }, 3, 2, MaskType.B, dtype: ScalarType.Float32);
        batch.shape.Should().Equal(2, 9, 24);
        using var second = LocalMasks.Create(other, 3, 2, MaskType.B);
        batch[1].equal(second).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        var order = GenerationOrders.Raster(3, 3);
        var even = () => LocalMasks.Create(order, 4, 1, MaskType.A);
        even.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("kernelSize");
        var dil = () => LocalMasks.Create(order, 3, 0, MaskType.A);
        dil.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("dilation");
        var mixed = () => LocalMasks.Create(new[] { order, GenerationOrders.Raster(3, 4) }, 3, 1, MaskType.A);
        mixed.Should().Throw<ArgumentException>().WithParameterName("orders");
        var obs = () => LocalMasks.Create(order, 3, 1, MaskType.A, new[] { 9 });
        obs.Should().Throw<ArgumentException>().WithParameterName("observed");
    }
}

public class ObservedMaskCausalityTests
{
    [Theory]
    [InlineData("raster")]
    [InlineData("hilbert")]
    [InlineData("random")]
    public void With_observed_context_a_generated_pixel_depends_only_on_the_context_and_earlier_generated_pixels(string kind)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        var order = LocallyMasked.Tests.Sampling.CachedSamplerTests.OrderOf(kind, 8, 8);
        // Observed pixels scattered through the order, so that some come after generated ones.
        var observed = Enumerable.Range(0, 64).Where(p => p % 5 == 2).ToArray();
        var maskA = LocalMasks.Create(order, 3, 1, MaskType.A, observed, ScalarType.Float64);
        var maskB = LocalMasks.Create(order, 3, 1, MaskType.B, observed, ScalarType.Float64);
        var maskD = LocalMasks.Create(order, 3, 2, MaskType.B, observed, ScalarType.Float64);
        var c1 = new LocallyMasked.Convolution.LocallyMaskedConv2d(1, 4, dtype: ScalarType.Float64);
        var c2 = new LocallyMasked.Convolution.LocallyMaskedConv2d(4, 4, dilation: 2, dtype: ScalarType.Float64);
        var c3 = new LocallyMasked.Convolution.LocallyMaskedConv2d(4, 1, dtype: ScalarType.Float64);

        var x = torch.randn(1, 1, 8, 8, ScalarType.Float64).requires_grad_(true);
        var y = c3.forward(torch.tanh(c2.forward(torch.tanh(c1.forward(x, maskA)), maskD)), maskB).view(-1);
        var isObserved = new bool[64];
        foreach (int p in observed) isObserved[p] = true;
        for (int p = 0; p < 64; p++)
        {
            if (isObserved[p]) continue;
            var grad = torch.autograd.grad(new[] { y[p] }, new[] { x }, retain_graph: true)[0].view(-1);
            var g = grad.data<double>().ToArray();
            for (int q = 0; q < 64; q++)
            {
                bool allowed = isObserved[q] || order.Ranks[q] < order.Ranks[p];
                if (!allowed) g[q].Should().Be(0, $"generated pixel {p} must not see pixel {q}");
            }
        }
    }
}
