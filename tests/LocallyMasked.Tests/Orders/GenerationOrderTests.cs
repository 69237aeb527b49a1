using LocallyMasked.Orders;

namespace LocallyMasked.Tests.Orders;

public class GenerationOrderTests
{
    public static TheoryData<string, int, int> Generators() => new()
    {
        { "raster", 7, 5 }, { "raster", 1, 1 }, { "scurve", 7, 5 }, { "scurve", 8, 8 }, { "zigzag", 7, 5 },
        { "zigzag", 3, 9 }, { "hilbert", 8, 8 }, { "hilbert", 1, 1 }, { "gilbert", 28, 28 }, { "gilbert", 7, 5 },
        { "gilbert", 32, 24 }, { "gilbert", 5, 12 }, { "gilbert", 1, 6 }, { "gilbert", 9, 1 }, { "gilbert", 13, 17 },
    };

    internal static GenerationOrder Make(string kind, int h, int w) => kind switch
    {
        "raster" => GenerationOrders.Raster(h, w),
        "scurve" => GenerationOrders.SCurve(h, w),
        "zigzag" => GenerationOrders.ZigZag(h, w),
        "hilbert" => GenerationOrders.Hilbert(h),
        "gilbert" => GenerationOrders.GeneralizedHilbert(h, w),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Generators))]
    public void Every_generator_yields_a_permutation_with_consistent_ranks(string kind, int h, int w)
    {
        var order = Make(kind, h, w);
        order.Height.Should().Be(h);
        order.Width.Should().Be(w);
        order.Sequence.OrderBy(p => p).Should().Equal(Enumerable.Range(0, h * w));
        for (int i = 0; i < order.PixelCount; i++) order.Ranks[order.Sequence[i]].Should().Be(i);
    }

    [Theory]
    [InlineData("scurve", 7, 5)]
    [InlineData("scurve", 6, 6)]
    [InlineData("hilbert", 2, 2)]
    [InlineData("hilbert", 16, 16)]
    [InlineData("gilbert", 28, 28)]
    [InlineData("gilbert", 32, 24)]
    [InlineData("gilbert", 16, 8)]
    public void Consecutive_pixels_are_four_neighbours(string kind, int h, int w)
    {
        var order = Make(kind, h, w);
        for (int i = 1; i < order.PixelCount; i++)
        {
            int a = order.Sequence[i - 1], b = order.Sequence[i];
            (Math.Abs(a / w - b / w) + Math.Abs(a % w - b % w)).Should().Be(1, $"steps {i - 1} and {i} of {kind}");
        }
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(13, 17)]
    [InlineData(5, 12)]
    public void Generalized_hilbert_on_odd_sizes_moves_to_adjacent_pixels_with_at_most_one_diagonal(int h, int w)
    {
        var order = GenerationOrders.GeneralizedHilbert(h, w);
        int diagonals = 0;
        for (int i = 1; i < order.PixelCount; i++)
        {
            int a = order.Sequence[i - 1], b = order.Sequence[i];
            int dr = Math.Abs(a / w - b / w), dc = Math.Abs(a % w - b % w);
            Math.Max(dr, dc).Should().Be(1);
            if (dr + dc == 2) diagonals++;
        }
        diagonals.Should().BeLessThanOrEqualTo(1);
    }

    [Fact]
    public void Zig_zag_equals_the_jpeg_scan_table()
    {
        // The first 20 entries of the JPEG zig-zag table for an 8x8 block (ITU T.81, figure 5).
        int[] jpeg = { 0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33 };
        GenerationOrders.ZigZag(8, 8).Sequence.Take(20).Should().Equal(jpeg);
        GenerationOrders.ZigZag(8, 8).Sequence[^1].Should().Be(63);
    }

    [Fact]
    public void S_curve_alternates_direction()
    {
        GenerationOrders.SCurve(3, 3).Sequence.Should().Equal(0, 1, 2, 5, 4, 3, 6, 7, 8);
    }

    [Fact]
    public void Symmetries_follow_the_reference_index_order()
    {
        // A 2x3 raster order: 0 1 2 / 3 4 5. Each variant is checked against the coordinate map.
        var raster = GenerationOrders.Raster(2, 3);
        var v = raster.Variants();
        v.Should().HaveCount(8);
        v[0].Should().Be(raster);
        v[1].Sequence.Should().Equal(3, 4, 5, 0, 1, 2);      // reflect rows
        v[2].Sequence.Should().Equal(2, 1, 0, 5, 4, 3);      // reflect columns
        v[3].Sequence.Should().Equal(5, 4, 3, 2, 1, 0);      // both
        // Transposed: a 3x2 grid where (r, c) -> (c, r): (0,0),(1,0),(2,0),(0,1),(1,1),(2,1).
        v[4].Height.Should().Be(3);
        v[4].Width.Should().Be(2);
        v[4].Sequence.Should().Equal(0, 2, 4, 1, 3, 5);
        v[5].Sequence.Should().Equal(4, 2, 0, 5, 3, 1);      // transpose, then reflect rows
        v[6].Sequence.Should().Equal(1, 3, 5, 0, 2, 4);      // transpose, then reflect columns
        v[7].Sequence.Should().Equal(5, 3, 1, 4, 2, 0);      // transpose, then both
    }

    [Fact]
    public void The_authors_completion_variants_generate_the_missing_half_last()
    {
        int n = 8;
        var variants = GenerationOrders.SCurve(n, n).Variants();
        var top = ImageRegion.TopHalf(n, n);
        var left = ImageRegion.LeftHalf(n, n);
        variants[1].Sequence.Skip(n * n / 2).Should().BeEquivalentTo(top.Pixels);
        variants[6].Sequence.Skip(n * n / 2).Should().BeEquivalentTo(left.Pixels);
    }

    [Fact]
    public void All_eight_s_curve_variants_are_distinct_permutations_and_transforms_compose()
    {
        var s = GenerationOrders.SCurve(6, 6);
        s.Variants().Distinct().Should().HaveCount(8);
        s.Transform(OrderSymmetry.ReflectRows).Transform(OrderSymmetry.ReflectRows).Should().Be(s);
        s.Transform(OrderSymmetry.Transpose).Transform(OrderSymmetry.Transpose).Should().Be(s);
        s.Transform(OrderSymmetry.ReflectRows).Transform(OrderSymmetry.ReflectColumns)
            .Should().Be(s.Transform(OrderSymmetry.ReflectBoth));
    }

    [Fact]
    public void Region_last_keeps_relative_order_within_both_groups()
    {
        var order = GenerationOrders.Hilbert(8);
        var region = ImageRegion.Centre(8, 8);
        var moved = order.WithRegionLast(region.Pixels);
        int outside = 64 - region.Pixels.Count;
        moved.Sequence.Take(outside).Should().Equal(order.Sequence.Where(p => !region.Contains(p)));
        moved.Sequence.Skip(outside).Should().Equal(order.Sequence.Where(region.Contains));
        moved.Sequence.OrderBy(p => p).Should().Equal(Enumerable.Range(0, 64));
    }

    [Fact]
    public void Invalid_sequences_are_rejected_with_the_reason()
    {
        var dup = () => GenerationOrder.FromSequence(2, 2, new[] { 0, 1, 1, 3 });
        dup.Should().Throw<ArgumentException>().WithParameterName("sequence").WithMessage("*appears twice*");
        var range = () => GenerationOrder.FromSequence(2, 2, new[] { 0, 1, 2, 4 });
        range.Should().Throw<ArgumentException>().WithMessage("*outside [0, 4)*");
        var count = () => GenerationOrder.FromSequence(2, 2, new[] { 0, 1, 2 });
        count.Should().Throw<ArgumentException>().WithMessage("*all 4 pixels*");
        var hilbert = () => GenerationOrders.Hilbert(6);
        hilbert.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("size");
        var size = () => GenerationOrders.Raster(0, 3);
        size.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("height");
        var region = () => GenerationOrders.Raster(2, 2).WithRegionLast(new[] { 9 });
        region.Should().Throw<ArgumentException>().WithParameterName("pixels");
    }

    [Fact]
    public void Regions_cover_the_stated_boxes()
    {
        ImageRegion.TopHalf(4, 3).Pixels.Should().Equal(0, 1, 2, 3, 4, 5);
        ImageRegion.BottomHalf(4, 3).Pixels.Should().Equal(6, 7, 8, 9, 10, 11);
        ImageRegion.LeftHalf(2, 4).Pixels.Should().Equal(0, 1, 4, 5);
        ImageRegion.RightHalf(2, 4).Pixels.Should().Equal(2, 3, 6, 7);
        ImageRegion.Centre(4, 4).Pixels.Should().Equal(5, 6, 9, 10);
        var outside = () => ImageRegion.Box(4, 4, 3, 3, 2, 2);
        outside.Should().Throw<ArgumentOutOfRangeException>();
    }
}
