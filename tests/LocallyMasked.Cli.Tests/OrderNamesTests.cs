using LocallyMasked.Tests.Orders;
using LocallyMasked.Cli;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// The program's --order names: its own and the authors', what each means, and the one rule for a name that is
/// undefined at a size (the library's <see cref="ReferenceOrders"/>), which the program applies and reports.
/// </summary>
public class OrderNamesTests
{
    private static Terminal Quiet(out StringWriter output)
    {
        output = new StringWriter();
        return new Terminal(output, TextWriter.Null, interactive: false);
    }

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

    [Theory]
    [InlineData(28, 28)]
    [InlineData(16, 16)]
    [InlineData(32, 24)]
    [InlineData(1, 1)]
    [InlineData(6, 6)]
    public void Every_name_means_what_the_librarys_one_rule_says_at_every_size(int height, int width)
    {
        // The program maps its names to the authors' (or, for zigzag, to its own generator); what a name means at a size,
        // including where it is undefined, is decided by ReferenceOrders alone.
        var programToAuthors = new Dictionary<string, string> { ["s-curve"] = "s_curve", ["raster"] = "raster_scan", ["hilbert"] = "hilbert" };
        foreach (var name in OrderNames.All.Where(n => n != "zigzag"))
        {
            string reference = programToAuthors.GetValueOrDefault(name, name);
            var resolved = OrderNames.Resolve(name, height, width);
            var library = ReferenceOrders.Resolve(reference, height, width);
            resolved.Order.Should().Be(library.Order, name);
            (resolved.RequestedName, resolved.Name, resolved.Substitution).Should().Be((name, library.Name, library.Substitution), name);
            resolved.IsSubstitute.Should().Be(!ReferenceOrders.IsDefined(reference, height, width), name);
            if (!resolved.IsSubstitute) resolved.Order.Should().Be(ReferenceOrders.Create(reference, height, width), name);
        }
    }

    [Fact]
    public void The_chosen_variants_keep_the_authors_index_order_and_say_when_another_curve_stands_for_the_name()
    {
        var variants = new OrderChoice("s_curve", 8).Variants(8, 8, Quiet(out var silent));
        for (int v = 0; v < 8; v++)
            variants[v].Sequence.Should().Equal(AuthorsOrderFixture.Get("s_curve", 8, 8, v).PixelIndices, $"variant {v}");
        silent.ToString().Should().BeEmpty("s_curve is defined on every size");

        var hilbert = new OrderChoice("hilbert", 3).Variants(28, 28, Quiet(out var said));
        hilbert.Should().Equal(GenerationOrders.GeneralizedHilbert(28, 28).Variants().Take(3));
        said.ToString().Trim().Should().Be("order: hilbert is defined on square images whose side is a power of two; "
            + "28x28 images use gilbert2d, its generalization to any rectangle");
        new OrderChoice("hilbert", 1).Variants(32, 32, Quiet(out var exact)).Should().Equal(GenerationOrders.Hilbert(32));
        exact.ToString().Should().BeEmpty();
    }

    [Fact]
    public void An_unknown_order_name_or_count_is_reported_with_the_accepted_values()
    {
        var act = () => OrderNames.Create("spiral", 8, 8);
        act.Should().Throw<ArgumentException>().WithParameterName("name")
            .WithMessage("*'spiral'*s-curve*raster_scan*gilbert2d*s_curve_center_quarter_last*");
        var choice = () => new OrderChoice("spiral", 8);
        choice.Should().Throw<ArgumentException>().WithMessage("--order spiral: expected one of s-curve*");
        var count = () => new OrderChoice("s-curve", 9);
        count.Should().Throw<ArgumentException>().WithMessage("--orders 9: expected 1 to 8*");
    }

    [Fact]
    public void The_orders_command_accepts_the_authors_names_reports_a_substitute_and_rejects_unknown_names()
    {
        string dir = Directory.CreateTempSubdirectory("lm-order-names-").FullName;
        try
        {
            var run = Lmconv.Run("orders", "--order", "s_curve_center_quarter_last", "--height", "6", "--width", "5", "--orders", "1", "--output", dir);
            run.Code.Should().Be(0, run.Err);
            run.Out.Should().NotContain("order: ");
            File.Exists(Path.Combine(dir, "s_curve_center_quarter_last-0-path.png")).Should().BeTrue();
            var hilbert = Lmconv.Run("orders", "--order", "hilbert", "--height", "6", "--width", "6", "--orders", "1", "--output", dir);
            hilbert.Code.Should().Be(0, hilbert.Err);
            hilbert.Out.Should().StartWith("order: hilbert is defined on square images whose side is a power of two; 6x6 images use gilbert2d");
            File.Exists(Path.Combine(dir, "hilbert-0-path.png")).Should().BeTrue("the files keep the name asked for");
            Lmconv.Run("orders", "--order", "spiral", "--output", dir).Code.Should().Be(ExitCodes.Usage);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
