using LocallyMasked.Cli.Imaging;
using LocallyMasked.Masks;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Tests.Imaging;

public sealed class ImagingTests
{
    [Fact]
    public void TensorsMapToBytesWithGreyExpandedToRgb()
    {
        using var image = tensor(new[] { -1.0, 0.0, 1.0, 0.5 }, new long[] { 1, 2, 2 });
        var raster = RgbImage.FromTensor(image);
        (raster.Width, raster.Height).Should().Be((2, 2));
        raster[0, 0].Should().Be(((byte)0, (byte)0, (byte)0));
        raster[1, 0].Should().Be(((byte)128, (byte)128, (byte)128)); // 127.5 rounds to even 128
        raster[0, 1].Should().Be(((byte)255, (byte)255, (byte)255));
        raster[1, 1].Should().Be(((byte)191, (byte)191, (byte)191));
        using var rgb = tensor(new[] { 1.0, -1.0, -1.0 }, new long[] { 3, 1, 1 });
        RgbImage.FromTensor(rgb)[0, 0].Should().Be(((byte)255, (byte)0, (byte)0));
    }

    [Fact]
    public void GridPlacesTilesRowByRowWithGaps()
    {
        // Five 2x3 images, each filled with its own level; 3 columns, gap 1, scale 2.
        using var batch = stack(Enumerable.Range(0, 5).Select(i => full(new long[] { 1, 2, 3 }, -1.0 + 0.5 * i)).ToArray());
        var grid = ImageSheets.Grid(batch, columns: 3, scale: 2, gap: 1);
        (grid.Width, grid.Height).Should().Be((1 + 3 * (6 + 1), 1 + 2 * (4 + 1)));
        grid[0, 0].Should().Be(ImageSheets.Gap);
        // Tile 4 (second row, second column) starts at x = 1 + 7, y = 1 + 5.
        byte level = (byte)Math.Round((0.5 * 4) * 127.5, MidpointRounding.ToEven);
        grid[8, 6].Should().Be((level, level, level));
        grid[8 + 5, 6 + 3].Should().Be((level, level, level));
        grid[1 + 2 * 7, 6].Should().Be(ImageSheets.Gap, "the sixth tile is empty");
    }

    [Fact]
    public void CompletionSheetShowsContextCompletionAndOriginalInRows()
    {
        using var originals = full(new long[] { 2, 1, 4, 4 }, 1.0);
        using var completions = full(new long[] { 2, 1, 4, 4 }, -1.0);
        var region = ImageRegion.TopHalf(4, 4);
        var sheet = ImageSheets.Completions(completions, originals, region, scale: 1, gap: 1);
        (sheet.Width, sheet.Height).Should().Be((1 + 2 * 5, 1 + 3 * 5));
        sheet[1, 1].Should().Be(ImageSheets.Hidden, "the hidden top half of the context is marked");
        sheet[1, 1 + 3].Should().Be(((byte)255, (byte)255, (byte)255), "the observed bottom half shows the original");
        sheet[1, 6].Should().Be(((byte)0, (byte)0, (byte)0), "the second row is the completion");
        sheet[1, 11].Should().Be(((byte)255, (byte)255, (byte)255), "the third row is the original");
    }

    [Fact]
    public void OrderPathMarksTheFirstAndLastPixels()
    {
        var order = GenerationOrders.SCurve(3, 4).Transform(OrderSymmetry.ReflectRows);
        var picture = OrderPictures.Path(order, cell: 10);
        (picture.Width, picture.Height).Should().Be((40, 30));
        int first = order.Sequence[0], last = order.Sequence[^1];
        picture[first % 4 * 10 + 5, first / 4 * 10 + 5].Should().Be(OrderPictures.FirstColour);
        picture[last % 4 * 10 + 5, last / 4 * 10 + 5].Should().Be(OrderPictures.LastColour);
    }

    [Fact]
    public void MaskPictureShowsEveryTapOfLocalMasks()
    {
        var order = GenerationOrders.Raster(3, 3);
        var picture = OrderPictures.Masks(order, 3, 1, MaskType.A, tapSize: 2);
        var mask = LocalMasks.CreateArray(order, 3, 1, MaskType.A);
        int block = 3 * 2 + 1;
        (picture.Width, picture.Height).Should().Be((3 * block + 1, 3 * block + 1));
        for (int p = 0; p < 9; p++)
            for (int t = 0; t < 9; t++)
            {
                if (t == 4) continue;
                var colour = picture[p % 3 * block + 1 + t % 3 * 2, p / 3 * block + 1 + t / 3 * 2];
                colour.Should().Be(mask[t * 9 + p] != 0 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0), $"pixel {p} tap {t}");
            }
    }
}
