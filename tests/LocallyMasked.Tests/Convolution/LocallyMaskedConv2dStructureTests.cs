using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

public sealed class LocallyMaskedConv2dStructureTests
{
    public static TheoryData<string, int, bool> TestMaskCases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var order in new[] { "raster", "s-curve", "random" })
            foreach (var dilation in new[] { 1, 2 })
                foreach (var typeB in new[] { false, true })
                    data.Add(order, dilation, typeB);
        return data;
    }

    [Theory]
    [MemberData(nameof(TestMaskCases))]
    public void OutputDependsExactlyOnEarlierPixelsInTheKernelWindow(string order, int dilation, bool typeB)
    {
        manual_seed(30);
        const int h = 7, w = 5;
        var ranks = order switch
        {
            "raster" => TestMasks.RasterRanks(h, w),
            "s-curve" => TestMasks.SCurveRanks(h, w),
            _ => TestMasks.RandomRanks(h, w, 31),
        };
        var layer = new LocallyMaskedConv2d(2, 3, 3, dilation, dtype: ScalarType.Float64);
        using var mask = TestMasks.Tensor(h, w, ranks, 3, dilation, typeB);
        AutoregressiveStructure.Check(layer, mask, ranks, h, w, typeB, $"{order}, dilation {dilation}, type {(typeB ? "B" : "A")}");
    }

    public static TheoryData<string, int, bool> GeneratorCases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var generator in new[] { "raster", "s-curve", "zig-zag", "hilbert", "generalized-hilbert" })
            foreach (var dilation in new[] { 1, 2 })
                foreach (var typeB in new[] { false, true })
                    data.Add(generator, dilation, typeB);
        return data;
    }

    [Theory]
    [MemberData(nameof(GeneratorCases))]
    public void EveryGeneratorsMaskGivesExactlyTheAutoregressiveDependencies(string generator, int dilation, bool typeB)
    {
        manual_seed(32);
        var order = Order(generator);
        var layer = new LocallyMaskedConv2d(2, 3, 3, dilation, dtype: ScalarType.Float64);
        using var mask = LocalMasks.Create(order, 3, dilation, typeB ? MaskType.B : MaskType.A, dtype: ScalarType.Float64);
        AutoregressiveStructure.Check(layer, mask, order.Ranks, order.Height, order.Width, typeB,
            $"{generator} {order.Height}x{order.Width}, dilation {dilation}, type {(typeB ? "B" : "A")}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PerSampleMasksGiveEachSampleItsOwnOrder(int dilation)
    {
        manual_seed(33);
        var orders = new List<GenerationOrder>
        {
            GenerationOrders.Hilbert(8),
            GenerationOrders.SCurve(8, 8).Transform(OrderSymmetry.Transpose),
            GenerationOrders.Raster(8, 8).Transform(OrderSymmetry.ReflectBoth),
        };
        var layer = new LocallyMaskedConv2d(2, 3, 3, dilation, dtype: ScalarType.Float64);
        using var masks = LocalMasks.Create(orders, 3, dilation, MaskType.B, dtype: ScalarType.Float64);
        for (var b = 0; b < orders.Count; b++)
        {
            // The whole batch goes through the layer; sample b's rows of the Jacobian must follow order b.
            using var scope = NewDisposeScope();
            var x = randn(orders.Count, 2, 8, 8, dtype: ScalarType.Float64, requires_grad: true);
            var output = layer.forward(x, masks);
            for (var p = 0; p < 64; p++)
            {
                var pixel = output[b, .., p / 8, p % 8].sum();
                var gradient = autograd.grad(new[] { pixel }, new[] { x }, retain_graph: true)[0];
                var dependence = gradient.abs().sum(dim: 1).view(orders.Count, 64).data<double>().ToArray();
                for (var q = 0; q < 64; q++)
                {
                    var allowed = orders[b].Ranks[q] < orders[b].Ranks[p] || q == p;
                    if (!allowed)
                        dependence[b * 64 + q].Should().Be(0.0, $"sample {b}, output {p}, input {q}");
                    for (var other = 0; other < orders.Count; other++)
                        if (other != b)
                            dependence[other * 64 + q].Should().Be(0.0, "samples do not mix");
                }
            }
        }
    }

    private static GenerationOrder Order(string generator) => generator switch
    {
        "raster" => GenerationOrders.Raster(7, 5),
        "s-curve" => GenerationOrders.SCurve(7, 5),
        "zig-zag" => GenerationOrders.ZigZag(7, 5),
        "hilbert" => GenerationOrders.Hilbert(8),
        _ => GenerationOrders.GeneralizedHilbert(7, 5),
    };
}
