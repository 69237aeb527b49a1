using LocallyMasked.Cli.Imaging;
using LocallyMasked.Masks;
using LocallyMasked.Orders;

namespace LocallyMasked.Cli.Tests.Imaging;

public sealed class OrderPicturesTests
{
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
