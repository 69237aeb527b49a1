using System.Text.Json;
using LocallyMasked.Orders;

namespace LocallyMasked.Tests.Orders;

/// <summary>
/// The authors' order arrays in <c>tests/LocallyMasked.Tests/Fidelity/Fixtures/orders.json</c>, written by their
/// own code (<c>make_fidelity_fixtures.py</c> next to it): for each order name, size and <c>augment_orders</c>
/// variant, the (row, column) of the pixel generated i-th.
/// </summary>
internal static class AuthorsOrderFixture
{
    private const string RelativePath = "tests/LocallyMasked.Tests/Fidelity/Fixtures/orders.json";

    private static readonly Lazy<IReadOnlyList<Entry>> Loaded = new(Load);

    /// <summary>One array of the fixture.</summary>
    /// <param name="Name">The authors' order name (<c>gilbert2d</c>, ...).</param>
    /// <param name="Height">The image height it was made for.</param>
    /// <param name="Width">The image width it was made for.</param>
    /// <param name="Variant">The <c>augment_orders</c> index; 0 is the base order.</param>
    /// <param name="Valid">Whether the array is a permutation of its grid (Height x Width, or Width x Height for variants 4-7).</param>
    /// <param name="RowsColumns">(row, column) in generation order.</param>
    internal sealed record Entry(string Name, int Height, int Width, int Variant, bool Valid, (int Row, int Column)[] RowsColumns)
    {
        /// <summary>The grid the array lives on: transposing variants swap the sides.</summary>
        public (int Height, int Width) Grid => Variant >= 4 ? (Width, Height) : (Height, Width);

        /// <summary>The array as pixel indices <c>row * width + column</c> of <see cref="Grid"/>.</summary>
        public int[] PixelIndices => RowsColumns.Select(p => p.Row * Grid.Width + p.Column).ToArray();

        public override string ToString() => $"{Name} {Height}x{Width} variant {Variant}";
    }

    /// <summary>Every array in the fixture.</summary>
    public static IReadOnlyList<Entry> All => Loaded.Value;

    /// <summary>The array for one order, size and variant; fails the test when the fixture lacks it.</summary>
    /// <param name="name">The authors' order name.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="variant">The <c>augment_orders</c> index.</param>
    public static Entry Get(string name, int height, int width, int variant = 0) =>
        All.SingleOrDefault(e => e.Name == name && e.Height == height && e.Width == width && e.Variant == variant)
        ?? throw new Xunit.Sdk.XunitException(
            $"orders.json has no '{name}' {height}x{width} variant {variant}; regenerate it with make_fidelity_fixtures.py.");

    /// <summary>The library's order for one of the authors' names (variant 0).</summary>
    /// <param name="name">The authors' order name.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public static GenerationOrder Ours(string name, int height, int width) => name switch
    {
        "raster_scan" => GenerationOrders.Raster(height, width),
        "s_curve" => GenerationOrders.SCurve(height, width),
        "hilbert" when height == width => GenerationOrders.Hilbert(height),
        "gilbert2d" => GenerationOrders.GeneralizedHilbert(height, width),
        "s_curve_center_quarter_last" => GenerationOrders.SCurveCentreQuarterLast(height, width),
        _ => throw new ArgumentException($"No library order for the authors' '{name}' at {height}x{width}.", nameof(name)),
    };

    private static IReadOnlyList<Entry> Load()
    {
        using var stream = File.OpenRead(FindRepositoryFile(RelativePath));
        using var document = JsonDocument.Parse(stream);
        var entries = new List<Entry>();
        foreach (var item in document.RootElement.GetProperty("orders").EnumerateArray())
        {
            var pairs = item.GetProperty("rows_cols").EnumerateArray()
                .Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToArray();
            entries.Add(new Entry(item.GetProperty("name").GetString()!, item.GetProperty("height").GetInt32(),
                item.GetProperty("width").GetInt32(), item.GetProperty("variant").GetInt32(),
                item.GetProperty("valid").GetBoolean(), pairs));
        }
        return entries;
    }

    private static string FindRepositoryFile(string relative)
    {
        // The fixtures stay in the source tree (the test project copies nothing): look upwards from the test binaries.
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}.");
    }
}
