using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Orders;

/// <summary>Regions made from pixel masks, and the region-last rule for any set of pixels.</summary>
public class RegionMaskTests
{
    /// <summary>A random pixel set of a given density (a fixed seed per case), as a bool array.</summary>
    private static bool[] RandomSet(int pixels, double density, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, pixels).Select(_ => random.NextDouble() < density).ToArray();
    }

    [Theory]
    [InlineData(ScalarType.Bool)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void A_mask_of_any_dtype_gives_the_pixels_it_marks(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var set = RandomSet(7 * 5, 0.4, 3);
        var mask = tensor(set, new long[] { 7, 5 }).to_type(dtype);
        var region = ImageRegion.FromMask(mask);
        (region.Height, region.Width).Should().Be((7, 5));
        region.Pixels.Should().Equal(Enumerable.Range(0, 35).Where(p => set[p]));
        for (int p = 0; p < 35; p++) region.Contains(p).Should().Be(set[p]);
    }

    [Fact]
    public void A_non_contiguous_mask_is_read_by_its_rows_and_columns()
    {
        using var scope = NewDisposeScope();
        // The transpose of a 3x4 mask: reading its storage in order would give another set.
        var stored = tensor(new float[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1 }, new long[] { 3, 4 });
        var region = ImageRegion.FromMask(stored.t());
        (region.Height, region.Width).Should().Be((4, 3));
        region.Pixels.Should().Equal(0, 4, 8, 11);
    }

    [Fact]
    public void Masks_that_are_not_two_dimensional_or_not_binary_are_refused_with_the_place()
    {
        using var scope = NewDisposeScope();
        var threeD = () => ImageRegion.FromMask(zeros(1, 4, 4));
        threeD.Should().Throw<ArgumentException>().WithParameterName("missing").WithMessage("*(H, W)*(1, 4, 4)*");
        var empty = () => ImageRegion.FromMask(zeros(0, 4));
        empty.Should().Throw<ArgumentException>().WithParameterName("missing");
        var grey = zeros(4, 4);
        grey[2, 3] = tensor(0.5f);
        var half = () => ImageRegion.FromMask(grey);
        half.Should().Throw<ArgumentException>().WithParameterName("missing").WithMessage("*0.5 at row 2, column 3*");
        var two = () => ImageRegion.FromMask(full(3, 3, 2L, ScalarType.Int64));
        two.Should().Throw<ArgumentException>().WithMessage("*2 at row 0, column 0*");
        var nan = () => ImageRegion.FromMask(full(2, 2, double.NaN, ScalarType.Float64));
        nan.Should().Throw<ArgumentException>().WithParameterName("missing");
        var empties = ImageRegion.FromMask(zeros(3, 3, ScalarType.Bool));
        empties.Pixels.Should().BeEmpty("an empty region is a value; callers that need a pixel check it");
    }

    public static TheoryData<string, int, int, double, int> PixelSets() => new()
    {
        { "raster", 7, 5, 0.3, 1 }, { "scurve", 8, 8, 0.05, 2 }, { "zigzag", 6, 9, 0.5, 3 }, { "hilbert", 8, 8, 0.9, 4 },
        { "gilbert", 13, 17, 0.25, 5 }, { "gilbert", 28, 28, 0.6, 6 }, { "scurve", 1, 1, 1.0, 7 }, { "raster", 4, 4, 0.0, 8 },
    };

    /// <summary>
    /// The rule for any pixel set: the order is a permutation; every pixel outside the set comes before every pixel in
    /// it; each group keeps its relative order from the base order. Checked on the ranks, independently of how the
    /// sequence was built.
    /// </summary>
    [Theory]
    [MemberData(nameof(PixelSets))]
    public void Region_last_puts_every_pixel_of_any_set_after_every_other_pixel(string kind, int h, int w, double density, int seed)
    {
        var order = GenerationOrderTests.Make(kind, h, w);
        var set = RandomSet(h * w, density, seed);
        var moved = order.WithRegionLast(Enumerable.Range(0, h * w).Where(p => set[p]));

        moved.Sequence.OrderBy(p => p).Should().Equal(Enumerable.Range(0, h * w));
        int lastObserved = Enumerable.Range(0, h * w).Where(p => !set[p]).Select(moved.RankOf).DefaultIfEmpty(-1).Max();
        int firstMissing = Enumerable.Range(0, h * w).Where(p => set[p]).Select(moved.RankOf).DefaultIfEmpty(h * w).Min();
        lastObserved.Should().BeLessThan(firstMissing);
        foreach (bool inSet in new[] { false, true })
        {
            // Within a group, ranks in the base order and in the moved order sort the pixels alike.
            var group = Enumerable.Range(0, h * w).Where(p => set[p] == inSet).OrderBy(order.RankOf).Select(moved.RankOf).ToArray();
            group.Should().BeInAscendingOrder("each group keeps its relative order");
        }
    }
}
