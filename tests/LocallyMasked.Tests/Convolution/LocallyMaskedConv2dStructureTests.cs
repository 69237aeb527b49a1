using LocallyMasked.Convolution;
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
}
