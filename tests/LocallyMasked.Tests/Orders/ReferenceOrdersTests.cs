using LocallyMasked.Orders;

namespace LocallyMasked.Tests.Orders;

/// <summary>
/// The reference code's order names and the one rule for sizes: <c>hilbert</c> is defined on square images whose side
/// is a power of two (the authors' code asserts elsewhere), every other order on any size; <see cref="ReferenceOrders.Create"/>
/// refuses an undefined size, <see cref="ReferenceOrders.Resolve"/> gives the generalization and says so.
/// </summary>
public class ReferenceOrdersTests
{
    [Fact]
    public void Every_name_is_the_authors_array_at_every_size_their_code_wrote_one_for()
    {
        var arrays = AuthorsOrderFixture.All.Where(e => e.Variant == 0 && e.Valid).ToArray();
        arrays.Select(e => e.Name).Distinct().Should().BeEquivalentTo(ReferenceOrders.Names);
        foreach (var entry in arrays)
        {
            ReferenceOrders.IsDefined(entry.Name, entry.Height, entry.Width).Should().BeTrue(entry.ToString());
            ReferenceOrders.Create(entry.Name, entry.Height, entry.Width).Sequence.Should().Equal(entry.PixelIndices, entry.ToString());
        }
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(2, 2, true)]
    [InlineData(16, 16, true)]
    [InlineData(32, 32, true)]
    [InlineData(28, 28, false)]
    [InlineData(6, 6, false)]
    [InlineData(16, 8, false)]
    [InlineData(32, 24, false)]
    public void Hilbert_is_defined_on_power_of_two_squares_only_and_the_other_orders_everywhere(int height, int width, bool square)
    {
        ReferenceOrders.IsDefined("hilbert", height, width).Should().Be(square);
        foreach (var name in ReferenceOrders.Names.Where(n => n != "hilbert"))
            ReferenceOrders.IsDefined(name, height, width).Should().BeTrue(name);
    }

    [Theory]
    [InlineData(28, 28)]
    [InlineData(32, 24)]
    [InlineData(6, 10)]
    public void Create_refuses_hilbert_where_it_is_undefined_and_names_its_generalization(int height, int width)
    {
        var act = () => ReferenceOrders.Create("hilbert", height, width);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage($"*power of two*{height}x{width}*gilbert2d*");
        ReferenceOrders.Generalization("hilbert").Should().Be("gilbert2d");
    }

    [Theory]
    [InlineData(28, 28)]
    [InlineData(32, 24)]
    public void Resolve_gives_gilbert2d_for_hilbert_where_it_is_undefined_and_says_why(int height, int width)
    {
        var resolved = ReferenceOrders.Resolve("hilbert", height, width);
        resolved.Order.Should().Be(GenerationOrders.GeneralizedHilbert(height, width));
        (resolved.RequestedName, resolved.Name, resolved.IsSubstitute).Should().Be(("hilbert", "gilbert2d", true));
        resolved.Substitution.Should().Contain($"{height}x{width}").And.Contain("gilbert2d").And.Contain("power of two");
    }

    [Theory]
    [InlineData(16, 16)]
    [InlineData(28, 28)]
    [InlineData(7, 5)]
    public void Where_a_name_is_defined_Resolve_is_Create_and_says_nothing(int height, int width)
    {
        foreach (var name in ReferenceOrders.Names.Where(n => ReferenceOrders.IsDefined(n, height, width)))
        {
            var resolved = ReferenceOrders.Resolve(name, height, width);
            resolved.Order.Should().Be(ReferenceOrders.Create(name, height, width), name);
            (resolved.Name, resolved.Substitution, resolved.IsSubstitute).Should().Be((name, (string?)null, false));
            ReferenceOrders.Generalization(name).Should().Be(name == "hilbert" ? "gilbert2d" : name);
        }
    }

    [Fact]
    public void Unknown_names_are_refused_with_the_known_ones()
    {
        foreach (var call in new Action[]
        {
            () => ReferenceOrders.Create("zigzag", 8, 8),
            () => ReferenceOrders.Resolve("zigzag", 8, 8),
            () => ReferenceOrders.IsDefined("zigzag", 8, 8),
            () => ReferenceOrders.Generalization("zigzag"),
        })
            call.Should().Throw<ArgumentException>().WithParameterName("name").WithMessage("*'zigzag'*raster_scan*s_curve_center_quarter_last*");
    }
}
