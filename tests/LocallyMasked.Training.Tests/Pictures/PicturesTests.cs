using System.Buffers.Binary;
using System.IO.Compression;
using LocallyMasked.Orders;
using LocallyMasked.Training.Pictures;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.Pictures;

public sealed class PicturesTests
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
    public void PictureRowsShowContextCompletionsAndOriginalWithEmptyPlacesForShortRows()
    {
        using var first = full(new long[] { 1, 4, 4 }, 1.0);
        using var second = full(new long[] { 1, 4, 4 }, -1.0);
        using var a = full(new long[] { 1, 4, 4 }, 0.0);
        var region = ImageRegion.FromPixels(4, 4, new[] { 5, 10 });
        var sheet = ImageSheets.PictureRows(new (TorchSharp.torch.Tensor, IReadOnlyList<TorchSharp.torch.Tensor>)[] { (first, new[] { a, a }), (second, new[] { a }) }, region);
        (sheet.Width, sheet.Height).Should().Be((1 + 4 * 5, 1 + 2 * 5), "four columns: context, two completions, original");
        sheet[1 + 1, 1 + 1].Should().Be(ImageSheets.Hidden, "pixel 5 of the first context is missing");
        sheet[1, 1].Should().Be(((byte)255, (byte)255, (byte)255), "pixel 0 of the first context is observed");
        sheet[6, 1].Should().Be(((byte)128, (byte)128, (byte)128), "the first completion");
        sheet[16, 1].Should().Be(((byte)255, (byte)255, (byte)255), "the first original, last column");
        sheet[11, 6].Should().Be(ImageSheets.Gap, "the second row has one completion: its second place stays empty");
        sheet[16, 6].Should().Be(((byte)0, (byte)0, (byte)0), "the second original is in the last column too");
    }

    /// <summary>An independent reading of a PNG: chunks and their CRCs, the header, and the inflated rows without filters.</summary>
    private static (int Width, int Height, int ColourType, byte[][] Rows) Read(byte[] png)
    {
        png.AsSpan(0, 8).ToArray().Should().Equal(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A);
        var chunks = new List<(string Type, byte[] Data)>();
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            crc.Should().Be(Crc32(png.AsSpan(at + 4, 4 + length)), $"the CRC of {type}");
            chunks.Add((type, data));
            at += 12 + length;
        }
        chunks.Select(c => c.Type).Should().Equal("IHDR", "IDAT", "IEND");
        var header = chunks[0].Data;
        int width = BinaryPrimitives.ReadInt32BigEndian(header), height = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        header[8].Should().Be(8);
        header.AsSpan(10).ToArray().Should().Equal(0, 0, 0);
        using var inflate = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        inflate.CopyTo(raw);
        int channels = header[9] == 0 ? 1 : 3, stride = 1 + width * channels;
        var bytes = raw.ToArray();
        bytes.Length.Should().Be(stride * height);
        var rows = Enumerable.Range(0, height).Select(y => bytes.AsSpan(y * stride, stride).ToArray()).ToArray();
        rows.Should().OnlyContain(r => r[0] == 0, "rows are unfiltered");
        return (width, height, header[9], rows);
    }

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    [Fact]
    public void A_colour_raster_is_written_as_rgb_upscaled_by_blocks()
    {
        var raster = new RgbImage(3, 2, new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 80, 80, 80, 200, 100, 50 });
        var (width, height, colourType, rows) = Read(PngWriter.Encode(raster, scale: 2));
        (width, height, colourType).Should().Be((6, 4, 2));
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++)
            {
                var (r, g, b) = raster[x / 2, y / 2];
                rows[y].AsSpan(1 + 3 * x, 3).ToArray().Should().Equal(new[] { r, g, b }, $"pixel ({x}, {y})");
            }
    }

    [Fact]
    public void A_grey_raster_is_written_as_grey_and_written_to_a_new_folder()
    {
        var levels = new byte[] { 0, 17, 128, 255, 3, 90 };
        var raster = new RgbImage(3, 2, levels.SelectMany(l => new[] { l, l, l }).ToArray());
        string folder = Path.Combine(Path.GetTempPath(), $"lm-png-{Guid.NewGuid():N}");
        try
        {
            string path = Path.Combine(folder, "sub", "grey.png");
            PngWriter.Write(raster, path);
            var (width, height, colourType, rows) = Read(File.ReadAllBytes(path));
            (width, height, colourType).Should().Be((3, 2, 0));
            rows.SelectMany(r => r.Skip(1)).Should().Equal(levels);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        var scale = () => PngWriter.Encode(raster, 0);
        scale.Should().Throw<ArgumentException>().WithParameterName("scale");
    }
}
