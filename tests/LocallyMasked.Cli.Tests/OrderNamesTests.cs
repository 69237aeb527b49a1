using LocallyMasked.Tests.Orders;
using LocallyMasked.Cli;
using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Tests;

/// <summary>The samples program's --order names: its own and the authors', and what each means.</summary>
public class OrderNamesTests
{
    [Theory]
    [InlineData("raster_scan", 8, 8)]
    [InlineData("s_curve", 28, 28)]
    [InlineData("hilbert", 32, 32)]
    [InlineData("gilbert2d", 28, 28)]
    [InlineData("gilbert2d", 6, 10)]
    [InlineData("s_curve_center_quarter_last", 30, 30)]
    public void The_command_lines_authors_names_give_exactly_the_authors_orders(string name, int height, int width)
    {
        OrderNames.All.Should().Contain(name);
        OrderNames.Create(name, height, width).Sequence
            .Should().Equal(AuthorsOrderFixture.Get(name, height, width).PixelIndices);
    }

    [Fact]
    public void The_command_lines_own_names_keep_working_and_hilbert_falls_back_to_gilbert2d_off_powers_of_two()
    {
        OrderNames.Create("s-curve", 28, 28).Should().Be(GenerationOrders.SCurve(28, 28));
        OrderNames.Create("raster", 28, 28).Should().Be(GenerationOrders.Raster(28, 28));
        OrderNames.Create("zigzag", 28, 28).Should().Be(GenerationOrders.ZigZag(28, 28));
        OrderNames.Create("hilbert", 28, 28).Should().Be(GenerationOrders.GeneralizedHilbert(28, 28));
        OrderNames.Create("hilbert", 32, 24).Should().Be(GenerationOrders.GeneralizedHilbert(32, 24));
        OrderNames.Create("hilbert", 16, 16).Should().Be(GenerationOrders.Hilbert(16));
        OrderNames.All.Should().OnlyHaveUniqueItems().And.Contain(OrderNames.ProgramNames).And.Contain(OrderNames.AuthorsNames);
        foreach (var name in OrderNames.All) OrderNames.Description.Should().Contain(name);
    }

    [Fact]
    public void The_command_lines_variants_keep_the_authors_index_order()
    {
        var variants = OrderNames.Variants("s_curve", 8, 8, 8);
        for (int v = 0; v < 8; v++)
        {
            variants[v].Sequence.Should().Equal(AuthorsOrderFixture.Get("s_curve", 8, 8, v).PixelIndices, $"variant {v}");
        }
    }

    [Fact]
    public void An_unknown_order_name_is_reported_with_the_accepted_names()
    {
        var act = () => OrderNames.Create("spiral", 8, 8);
        act.Should().Throw<ArgumentException>().WithParameterName("name")
            .WithMessage("*'spiral'*s-curve*raster_scan*gilbert2d*s_curve_center_quarter_last*");
    }

    [Fact]
    public void The_orders_command_accepts_the_authors_names_and_rejects_unknown_ones()
    {
        string dir = Directory.CreateTempSubdirectory("lm-order-names-").FullName;
        try
        {
            CliApp.Run(new[] { "orders", "--order", "s_curve_center_quarter_last", "--height", "6", "--width", "5", "--orders", "1", "--output", dir })
                .Should().Be(0);
            File.Exists(Path.Combine(dir, "s_curve_center_quarter_last-0-path.png")).Should().BeTrue();
            CliApp.Run(new[] { "orders", "--order", "spiral", "--output", dir }).Should().NotBe(0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
