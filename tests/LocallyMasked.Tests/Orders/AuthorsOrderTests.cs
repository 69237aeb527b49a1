using LocallyMasked.Orders;

namespace LocallyMasked.Tests.Orders;

/// <summary>
/// The library's orders against the arrays the authors' own code produces (Fidelity/Fixtures/orders.json, from
/// their masking.py, gilbert2d.py and the hilbertcurve package they use).
/// </summary>
public class AuthorsOrderTests
{
    [Theory]
    [InlineData("raster_scan", 8, 8)]
    [InlineData("raster_scan", 6, 10)]
    [InlineData("raster_scan", 5, 7)]
    [InlineData("raster_scan", 28, 28)]
    [InlineData("s_curve", 8, 8)]
    [InlineData("s_curve", 6, 10)]
    [InlineData("s_curve", 7, 9)]
    [InlineData("s_curve", 28, 28)]
    [InlineData("s_curve", 32, 32)]
    [InlineData("gilbert2d", 8, 8)]
    [InlineData("gilbert2d", 28, 28)]
    [InlineData("gilbert2d", 32, 32)]
    [InlineData("gilbert2d", 6, 10)]
    [InlineData("gilbert2d", 10, 6)]
    [InlineData("gilbert2d", 5, 7)]
    [InlineData("gilbert2d", 7, 5)]
    [InlineData("gilbert2d", 32, 24)]
    [InlineData("gilbert2d", 24, 32)]
    [InlineData("gilbert2d", 13, 17)]
    [InlineData("gilbert2d", 1, 6)]
    [InlineData("gilbert2d", 9, 1)]
    [InlineData("hilbert", 2, 2)]
    [InlineData("hilbert", 4, 4)]
    [InlineData("hilbert", 8, 8)]
    [InlineData("hilbert", 16, 16)]
    [InlineData("hilbert", 32, 32)]
    [InlineData("s_curve_center_quarter_last", 8, 8)]
    [InlineData("s_curve_center_quarter_last", 28, 28)]
    [InlineData("s_curve_center_quarter_last", 32, 32)]
    [InlineData("s_curve_center_quarter_last", 30, 30)]
    [InlineData("s_curve_center_quarter_last", 7, 9)]
    [InlineData("s_curve_center_quarter_last", 3, 3)]
    public void Each_order_equals_the_authors_array(string name, int height, int width)
    {
        var expected = AuthorsOrderFixture.Get(name, height, width);
        expected.Valid.Should().BeTrue();
        var ours = AuthorsOrderFixture.Ours(name, height, width);
        ours.Height.Should().Be(height);
        ours.Width.Should().Be(width);
        ours.Sequence.Should().Equal(expected.PixelIndices, $"the authors' {name} at {height}x{width}");
    }

    [Fact]
    public void Every_base_order_in_the_fixture_matches()
    {
        // Covers whatever else the generator writes, so that a new size is checked without a new test line.
        var bases = AuthorsOrderFixture.All.Where(e => e.Variant == 0).ToList();
        bases.Should().HaveCountGreaterThanOrEqualTo(30);
        foreach (var entry in bases)
        {
            AuthorsOrderFixture.Ours(entry.Name, entry.Height, entry.Width).Sequence
                .Should().Equal(entry.PixelIndices, entry.ToString());
        }
    }

    [Theory]
    [InlineData("s_curve", 8, 8)]
    [InlineData("gilbert2d", 8, 8)]
    [InlineData("hilbert", 8, 8)]
    [InlineData("s_curve_center_quarter_last", 8, 8)]
    public void The_eight_variants_of_a_square_order_follow_the_authors_augment_orders(string name, int height, int width)
    {
        var variants = AuthorsOrderFixture.Ours(name, height, width).Variants();
        for (int v = 0; v < 8; v++)
        {
            var expected = AuthorsOrderFixture.Get(name, height, width, v);
            expected.Valid.Should().BeTrue();
            variants[v].Sequence.Should().Equal(expected.PixelIndices, $"variant {v} ({(OrderSymmetry)v}) of {name}");
        }
    }

    [Theory]
    [InlineData("gilbert2d", 6, 10)]
    [InlineData("raster_scan", 5, 7)]
    public void Non_square_variants_match_the_authors_where_theirs_stay_on_the_grid(string name, int height, int width)
    {
        var variants = AuthorsOrderFixture.Ours(name, height, width).Variants();
        for (int v = 0; v < 5; v++)
        {
            var expected = AuthorsOrderFixture.Get(name, height, width, v);
            expected.Valid.Should().BeTrue();
            (variants[v].Height, variants[v].Width).Should().Be(expected.Grid);
            variants[v].Sequence.Should().Equal(expected.PixelIndices, $"variant {v} ({(OrderSymmetry)v}) of {name}");
        }

        // The authors reflect a transposed order with the ORIGINAL sides (reflect_rows(transpose(idx), obs) uses
        // obs = (C, H, W)), so for H != W their variants 5-7 leave the W x H grid. main.py only uses square images
        // with --randomize_order; ours reflect within the transposed grid. The two differ by exactly W - H.
        int shift = width - height;
        for (int v = 5; v < 8; v++)
        {
            var authors = AuthorsOrderFixture.Get(name, height, width, v);
            authors.Valid.Should().BeFalse("the authors' variant {0} of a non-square order leaves the grid", v);
            bool reflectRows = (v & 1) != 0, reflectColumns = (v & 2) != 0;
            var mine = variants[v].Sequence.Select(p => (Row: p / variants[v].Width, Column: p % variants[v].Width));
            var shifted = mine.Select(p => (reflectRows ? p.Row - shift : p.Row, reflectColumns ? p.Column + shift : p.Column));
            shifted.Should().Equal(authors.RowsColumns, $"variant {v} ({(OrderSymmetry)v})");
        }
    }

    [Fact]
    public void Generalized_hilbert_8x8_starts_as_the_issue_quotes()
    {
        // The authors' gilbert2d for 8x8, as (row, column).
        (int, int)[] prefix =
        {
            (0, 0), (0, 1), (1, 1), (1, 0), (2, 0), (3, 0), (3, 1), (2, 1), (2, 2), (3, 2), (3, 3), (2, 3),
        };
        var order = GenerationOrders.GeneralizedHilbert(8, 8);
        order.Sequence.Take(prefix.Length).Select(p => (p / 8, p % 8)).Should().Equal(prefix);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void Hilbert_is_the_transposed_generalized_hilbert_and_ends_top_right(int size)
    {
        var hilbert = GenerationOrders.Hilbert(size);
        hilbert.Should().Be(GenerationOrders.GeneralizedHilbert(size, size).Transform(OrderSymmetry.Transpose));
        hilbert.Sequence[0].Should().Be(0);
        hilbert.Sequence[^1].Should().Be(size - 1);
        // The first step goes down when log2(size) is odd, right when it is even.
        int log2 = System.Numerics.BitOperations.Log2((uint)size);
        hilbert.Sequence[1].Should().Be(log2 % 2 == 1 ? size : 1);
    }

    [Theory]
    [InlineData(8, 8, 63 - 7)]
    [InlineData(28, 28, 27 * 28)]
    [InlineData(6, 10, 9)]
    [InlineData(10, 6, 54)]
    public void Generalized_hilbert_ends_at_the_far_end_of_the_longer_side(int height, int width, int last)
    {
        GenerationOrders.GeneralizedHilbert(height, width).Sequence[^1].Should().Be(last);
    }

    [Fact]
    public void Centre_quarter_last_moves_the_central_block_to_the_end_in_s_curve_order()
    {
        // 7x9: rows 1..5 and columns 2..6 are the centre (7 / 4 = 1, 9 / 4 = 2).
        var order = GenerationOrders.SCurveCentreQuarterLast(7, 9);
        var scurve = GenerationOrders.SCurve(7, 9);
        static bool InCentre(int p) => p / 9 is >= 1 and <= 5 && p % 9 is >= 2 and <= 6;
        int outside = 63 - 25;
        order.Sequence.Take(outside).Should().Equal(scurve.Sequence.Where(p => !InCentre(p)));
        order.Sequence.Skip(outside).Should().Equal(scurve.Sequence.Where(InCentre));
        // Below 4 rows and columns the block is the whole image: the order is the S-curve itself.
        GenerationOrders.SCurveCentreQuarterLast(3, 3).Should().Be(GenerationOrders.SCurve(3, 3));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(28)]
    public void Hilbert_rejects_sides_that_are_not_powers_of_two(int size)
    {
        var act = () => GenerationOrders.Hilbert(size);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("size").WithMessage("*power of two*");
    }

    [Theory]
    [InlineData(0, 5, "height")]
    [InlineData(-1, 5, "height")]
    [InlineData(5, 0, "width")]
    public void Rectangle_generators_reject_sizes_below_one(int height, int width, string parameter)
    {
        Func<GenerationOrder>[] generators =
        {
            () => GenerationOrders.GeneralizedHilbert(height, width),
            () => GenerationOrders.SCurveCentreQuarterLast(height, width),
            () => GenerationOrders.SCurve(height, width),
            () => GenerationOrders.Raster(height, width),
        };
        foreach (var generate in generators)
        {
            generate.Should().Throw<ArgumentOutOfRangeException>().WithParameterName(parameter).WithMessage("*at least 1*");
        }
    }
}
