using LocallyMasked.Cli;
using LocallyMasked.Cli.Data;

namespace LocallyMasked.Cli.Tests;

public sealed class ImageFolderReaderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-images-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string relative) => Path.Combine(dir, relative);

    private static byte Level(int i) => (byte)(i * 37 % 256);

    /// <summary>Twenty 6x4 grey PNGs whose first pixel is their number.</summary>
    private void TwentyGreyImages()
    {
        for (int i = 0; i < 20; i++) ImageFiles.GreyPng(P($"a/img{i:00}.png"), 4, 6, (x, y) => x + y == 0 ? (byte)i : Level(x + y));
    }

    private static int[] FirstPixels(LocallyMasked.Training.Data.ImageDataset set) =>
        Enumerable.Range(0, set.Count).Select(i => (int)set.Image(i)[0]).ToArray();

    [Fact]
    public void GreyImagesAreReadPixelForPixelWithTheirOwnSize()
    {
        TwentyGreyImages();

        var train = ImageFolderReader.Read(dir, train: true, new ImageFolderOptions());
        var test = ImageFolderReader.Read(dir, train: false, new ImageFolderOptions());

        (train.Images.Channels, train.Images.Height, train.Images.Width).Should().Be((1, 6, 4));
        (train.Images.Count, test.Images.Count).Should().Be((18, 2), "one image in ten is held out by default");
        FirstPixels(train.Images).Concat(FirstPixels(test.Images)).Should().BeEquivalentTo(Enumerable.Range(0, 20));
        train.Images.Image(0)[1 * 4 + 2].Should().Be(Level(3), "row 1, column 2 of a grey image");
        train.Skipped.Should().BeEmpty();
    }

    [Fact]
    public void TheSplitFollowsTheSeedAndNothingElse()
    {
        TwentyGreyImages();
        int[] TestOf(ulong seed, double fraction = 0.25) =>
            FirstPixels(ImageFolderReader.Read(dir, train: false, new ImageFolderOptions { Seed = seed, TestFraction = fraction }).Images);

        TestOf(7).Should().Equal(TestOf(7)).And.HaveCount(5);
        TestOf(7).Should().NotEqual(TestOf(8));
        var train = FirstPixels(ImageFolderReader.Read(dir, train: true, new ImageFolderOptions { Seed = 7, TestFraction = 0.25 }).Images);
        train.Should().HaveCount(15).And.NotIntersectWith(TestOf(7));
    }

    [Fact]
    public void ATestSubfolderHoldsTheTestImages()
    {
        TwentyGreyImages();
        ImageFiles.GreyPng(P("test/t1.png"), 4, 6, (_, _) => 200);
        ImageFiles.GreyPng(P("test/deeper/t2.png"), 4, 6, (_, _) => 201);

        var test = ImageFolderReader.Read(dir, train: false, new ImageFolderOptions());
        var train = ImageFolderReader.Read(dir, train: true, new ImageFolderOptions());

        FirstPixels(test.Images).Should().Equal(201, 200);   // path order: test/deeper/t2.png, test/t1.png
        train.Images.Count.Should().Be(20);
        var both = () => ImageFolderReader.Read(dir, train: true, new ImageFolderOptions { TestFraction = 0.2 });
        both.Should().Throw<ArgumentException>().WithMessage("--test-fraction: *test/ subfolder*leave out --test-fraction*");
    }

    [Fact]
    public void BrokenAndEmptyFilesAreSkippedAndNamed()
    {
        TwentyGreyImages();
        File.WriteAllBytes(P("a/broken.png"), "not a png at all"u8.ToArray());
        File.WriteAllBytes(P("a/empty.jpg"), Array.Empty<byte>());
        var png = File.ReadAllBytes(P("a/img00.png"));
        File.WriteAllBytes(P("a/truncated.png"), png[..(png.Length / 2)]);
        File.WriteAllText(P("a/notes.txt"), "ignored: not an image extension");

        var options = new ImageFolderOptions { TestFraction = 0.5 };
        var skipped = ImageFolderReader.Read(dir, true, options).Skipped.Concat(ImageFolderReader.Read(dir, false, options).Skipped).ToArray();

        skipped.Select(s => s.File).Should().BeEquivalentTo("a/broken.png", "a/empty.jpg", "a/truncated.png");
        skipped.Should().ContainSingle(s => s.File == "a/empty.jpg").Which.Reason.Should().Be("empty file");
        skipped.Should().ContainSingle(s => s.File == "a/broken.png").Which.Reason.Should().Be("not a PNG, JPEG or BMP image");
        ImageFolderReader.Describe(skipped.Concat(skipped).ToArray()).Should().EndWith("and 3 more");
    }

    [Fact]
    public void AFolderWithoutUsableImagesIsAnError()
    {
        File.WriteAllBytes(P("x.png"), Array.Empty<byte>());
        File.WriteAllBytes(P("y.bmp"), "BM?"u8.ToArray());
        var act = () => ImageFolderReader.Read(dir, true, new ImageFolderOptions());
        act.Should().Throw<InvalidDataException>().WithMessage($"--data {dir}: none of the 2 image files could be decoded.");

        var empty = Directory.CreateDirectory(P("empty")).FullName;
        var none = () => ImageFolderReader.Read(empty, true, new ImageFolderOptions());
        none.Should().Throw<InvalidDataException>().WithMessage("*no image files (looked for .png, .jpg, .jpeg, .bmp*");
    }

    [Fact]
    public void MixedSizesNeedSizeWhichCropsCentrallyAndResizes()
    {
        // 20 rows x 40 columns: red left quarter, green middle half, blue right quarter.
        ImageFiles.Png(P("wide.png"), 40, 20, (x, _) => x < 10 ? ((byte)255, (byte)0, (byte)0) : x < 30 ? ((byte)0, (byte)255, (byte)0) : ((byte)0, (byte)0, (byte)255));
        ImageFiles.Bmp(P("tall.bmp"), 10, 30, (_, y) => y < 10 ? ((byte)9, (byte)9, (byte)9) : y < 20 ? ((byte)100, (byte)150, (byte)200) : ((byte)9, (byte)9, (byte)9));
        ImageFiles.Jpeg(P("square.jpg"), 16, 16, (_, _) => ((byte)128, (byte)128, (byte)128));

        var act = () => ImageFolderReader.Read(dir, true, new ImageFolderOptions { TestFraction = 0.3 });
        act.Should().Throw<ArgumentException>().WithMessage("*is * (HxW) but the first image is *pass --size HxW*");

        var options = new ImageFolderOptions { Height = 10, Width = 10, TestFraction = 0.3, Channels = 3 };
        var all = new[] { ImageFolderReader.Read(dir, true, options).Images, ImageFolderReader.Read(dir, false, options).Images };
        var images = all.SelectMany(set => Enumerable.Range(0, set.Count).Select(i => set.Image(i).ToArray())).ToArray();
        images.Should().HaveCount(3).And.OnlyContain(bytes => bytes.Length == 3 * 10 * 10);
        // The wide picture keeps its middle 20x20 square (all green), the tall one its middle 10x10 square (one colour).
        var colours = images.Select(bytes => Planes(bytes).ToArray()).ToArray();
        colours.Any(c => c.SequenceEqual(new[] { (0, 255, 0) })).Should().BeTrue("the wide picture's middle is green");
        colours.Any(c => c.SequenceEqual(new[] { (100, 150, 200) })).Should().BeTrue("the tall picture's middle is one colour");
    }

    /// <summary>The distinct (R, G, B) values of a (3, H, W) image, each channel within 2 of a constant.</summary>
    private static IEnumerable<(int, int, int)> Planes(byte[] chw)
    {
        int n = chw.Length / 3;
        return Enumerable.Range(0, n).Select(p => (Round(chw[p]), Round(chw[n + p]), Round(chw[2 * n + p]))).Distinct();
        static int Round(byte v) => v is >= 253 ? 255 : v is <= 2 ? 0 : v is >= 98 and <= 102 ? 100 : v is >= 148 and <= 152 ? 150 : v is >= 198 and <= 202 ? 200 : v;
    }

    [Fact]
    public void ShrinkingAveragesInsteadOfAliasing()
    {
        // Every eighth column white: point sampling (even bilinear, between columns 3-4, 11-12, ...) sees only black.
        ImageFiles.GreyPng(P("checker.png"), 64, 64, (x, _) => x % 8 == 0 ? (byte)255 : (byte)0);
        ImageFiles.GreyPng(P("second.png"), 64, 64, (_, _) => 255);

        var set = ImageFolderReader.Read(dir, true, new ImageFolderOptions { Height = 8, Width = 8, TestFraction = 0.5, Seed = 3 }).Images;
        var test = ImageFolderReader.Read(dir, false, new ImageFolderOptions { Height = 8, Width = 8, TestFraction = 0.5, Seed = 3 }).Images;
        var checker = new[] { set, test }.Select(s => s.Image(0).ToArray()).Single(bytes => bytes.Max() < 250);
        checker.Should().OnlyContain(v => v >= 20 && v <= 45, "shrunk eightfold, the lines average to 255 / 8");
    }

    [Fact]
    public void GreyAndColourImagesAreConvertedToTheChosenChannels()
    {
        ImageFiles.GreyPng(P("0-grey.png"), 2, 2, (_, _) => 90);
        ImageFiles.Png(P("1-colour.png"), 2, 2, (_, _) => ((byte)200, (byte)100, (byte)50));

        var grey = ImageFolderReader.Read(dir, true, new ImageFolderOptions { TestFraction = 0.5, Seed = 1 }).Images;
        var greyTest = ImageFolderReader.Read(dir, false, new ImageFolderOptions { TestFraction = 0.5, Seed = 1 }).Images;
        (grey.Channels, greyTest.Channels).Should().Be((1, 1), "the first image (in path order) is grey");
        new[] { grey.Image(0)[0], greyTest.Image(0)[0] }.Order().Should().Equal((byte)90, (byte)((299 * 200 + 587 * 100 + 114 * 50 + 500) / 1000));

        var rgb = ImageFolderReader.Read(dir, true, new ImageFolderOptions { TestFraction = 0.5, Seed = 1, Channels = 3 }).Images;
        var rgbTest = ImageFolderReader.Read(dir, false, new ImageFolderOptions { TestFraction = 0.5, Seed = 1, Channels = 3 }).Images;
        var pixels = new[] { rgb, rgbTest }.Select(s => (s.Image(0)[0], s.Image(0)[4], s.Image(0)[8])).ToArray();
        pixels.Should().BeEquivalentTo(new[] { ((byte)90, (byte)90, (byte)90), ((byte)200, (byte)100, (byte)50) });
    }

    [Theory]
    [InlineData(40, 20, 10, 10, 10, 0, 30, 20)]
    [InlineData(10, 30, 10, 10, 0, 10, 10, 20)]
    [InlineData(28, 28, 14, 14, 0, 0, 28, 28)]
    [InlineData(100, 50, 30, 40, 16, 0, 83, 50)]   // 4:3 (W:H) out of 2:1: all 50 rows, the middle 67 columns
    public void CentreCropKeepsTheLargestCentredRectangleOfTheTargetShape(int sw, int sh, int h, int w, int left, int top, int right, int bottom)
    {
        var crop = ImageFolderReader.CentreCrop(sw, sh, w, h);
        (crop.Left, crop.Top, crop.Right, crop.Bottom).Should().Be((left, top, right, bottom));
    }
}
