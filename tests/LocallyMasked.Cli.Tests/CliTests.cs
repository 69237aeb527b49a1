using LocallyMasked.TestSupport;
using LocallyMasked.Cli;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using SkiaSharp;
using static TorchSharp.torch;
using LocallyMasked.Models;
using LocallyMasked.Checkpoints;
using LocallyMasked.Training.Pictures;

namespace LocallyMasked.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Width, int Height) Decode(string path)
    {
        File.Exists(path).Should().BeTrue(path);
        using var bitmap = SKBitmap.Decode(path);
        bitmap.Should().NotBeNull($"{path} must decode as an image");
        return (bitmap.Width, bitmap.Height);
    }

    [Fact]
    public void PngFilesDecodeWithTheRasterSizeTimesTheScale()
    {
        var raster = new RgbImage(3, 2, new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 80, 80, 80, 200, 100, 50 });
        string path = Path.Combine(dir, "sub", "x.png");
        PngWriter.Write(raster, path, scale: 4);
        Decode(path).Should().Be((12, 8));
        using var bitmap = SKBitmap.Decode(path);
        bitmap.GetPixel(5, 1).Should().Be(new SKColor(0, 255, 0));
        bitmap.GetPixel(11, 7).Should().Be(new SKColor(200, 100, 50));
        // A grey raster is written as a greyscale PNG (the training package's writer); SkiaSharp reads the same levels.
        string grey = Path.Combine(dir, "grey.png");
        PngWriter.Write(new RgbImage(2, 1, new byte[] { 7, 7, 7, 250, 250, 250 }), grey, scale: 3);
        using var greyBitmap = SKBitmap.Decode(grey);
        (greyBitmap.Width, greyBitmap.Height).Should().Be((6, 3));
        greyBitmap.GetPixel(2, 2).Should().Be(new SKColor(7, 7, 7));
        greyBitmap.GetPixel(3, 0).Should().Be(new SKColor(250, 250, 250));
    }

    [Fact]
    public void OrdersCommandDrawsPathsAndMasks()
    {
        CliApp.Run(new[] { "orders", "--order", "zigzag", "--height", "6", "--width", "5", "--orders", "2", "--output", dir }).Should().Be(0);
        Decode(Path.Combine(dir, "zigzag-1-path.png")).Should().Be((5 * 12, 6 * 12));
        Decode(Path.Combine(dir, "zigzag-0-masks-B.png")).Should().Be(((5 * 10 + 1) * 2, (6 * 10 + 1) * 2));
    }

    [Fact]
    public void EmbeddedDigitsAreTheBundledSubset()
    {
        var train = EmbeddedDigits.Read(train: true);
        var test = EmbeddedDigits.Read(train: false);
        (train.Count, test.Count).Should().Be((8000, 2000));
        (train.Height, train.Width).Should().Be((28, 28));
    }

    [Fact]
    public void TrainResumeEvaluateAndCompleteRunEndToEnd()
    {
        string[] tiny = { "--filters", "4", "--blocks", "1", "--orders", "2", "--output", dir };
        CliApp.Run(new[] { "train", "--steps", "2", "--batch-size", "4", "--train-images", "64", "--eval-every", "0",
            "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1" }.Concat(tiny).ToArray()).Should().Be(0);
        string checkpoint = Path.Combine(dir, "model.ckpt");
        TrainingCheckpointFile.ReadMetadata(checkpoint).Step.Should().Be(2);
        string early = Path.Combine(dir, "early.ckpt");
        File.Copy(checkpoint, early);

        CliApp.Run(new[] { "train", "--steps", "3", "--resume", checkpoint, "--train-images", "64", "--final-eval-images", "4",
            "--samples", "0", "--output", dir }).Should().Be(0);
        TrainingCheckpointFile.ReadMetadata(checkpoint).Step.Should().Be(3);

        CliApp.Run(new[] { "evaluate", "--checkpoint", checkpoint, "--images", "4", "--region", "top" }).Should().Be(0);
        CliApp.Run(new[] { "evaluate", "--checkpoint", checkpoint, "--average", early, "--images", "2", "--orders", "1" })
            .Should().Be(0);

        CliApp.Run(new[] { "complete", "--checkpoint", checkpoint, "--region", "box:10,10,3,4", "--count", "2", "--output", dir })
            .Should().Be(0);
        // Two columns, three rows of 28x28 tiles with 1-pixel gaps, drawn at scale 3.
        Decode(Path.Combine(dir, "completions-box-10-10-3-4.png")).Should().Be(((1 + 2 * 29) * 3, (1 + 3 * 29) * 3));
    }

    [Fact]
    public void PyTorchCheckpointsAreLoadedWithTheirConfigurationInferredFromShapes()
    {
        // A .pth in the authors' layout (written through PyBridge) of a small binarized-MNIST model.
        var config = LocallyMasked.Models.PixelCnnConfig.BinarizedMnist with { Filters = 4, ResidualBlocks = 2 };
        string path = Path.Combine(dir, "authors.pth");
        using (var model = new LocallyMasked.Models.LocallyMaskedPixelCnn(config))
            LocallyMasked.Checkpoints.PixelCnnCheckpoint.SavePyTorch(model, path);

        var run = Lmconv.Run("evaluate", "--checkpoint", path, "--dataset", "binarized-mnist", "--images", "2", "--orders", "2");
        run.Code.Should().Be(0, run.Err);
        string text = run.Out;
        text.Should().Contain("inferred: 4 filters, 2 blocks, Binary");
        text.Should().Contain("ensemble of 2");
        // The file does not record the normalization or the dilation: both are said, with the options that change them.
        text.Should().Contain("assumed (not recorded in authors.pth; the published models' settings): --normalization pono, --max-dilation 2");

        var (code, quiet, _) = Capture(new[] { "sample", "--checkpoint", path, "--dataset", "binarized-mnist", "--count", "1",
            "--orders", "1", "--normalization", "order_rescale", "--max-dilation", "3", "--output", dir });
        code.Should().Be(0);
        quiet.Should().NotContain("assumed");
    }

    /// <summary>Runs the program in-process: everything it prints goes through its terminal to these writers.</summary>
    private static (int Code, string Output, string Error) Capture(params string[] args)
    {
        var run = Lmconv.Run(args);
        return (run.Code, run.Out, run.Err);
    }

    [Fact]
    public void The_authors_checkpoints_bring_their_orders_and_their_variants_are_chosen_by_index()
    {
        string fixtures = Path.Combine(RepositoryFiles.Find("tests/LocallyMasked.Tests/Fidelity/Fixtures"), "checkpoints");
        string path = Path.Combine(fixtures, "m14_bin_pono_k3d2_nobias.pth");
        var (code, text, _) = Capture(new[] { "sample", "--checkpoint", path, "--count", "2", "--order-variants", "0", "3", "5",
            "--order-index", "2", "--output", dir });
        code.Should().Be(0, text);
        text.Should().NotContain("assumed", "the args record every setting");
        Decode(Path.Combine(dir, "samples.png")).Should().Be(((1 + 2 * 9) * 3, (1 + 9) * 3));

        var (overridden, overrideText, _) = Capture(new[] { "sample", "--checkpoint", path, "--count", "1", "--normalization", "none",
            "--ema-weights", "--output", dir, "--force" });
        overridden.Should().Be(0);
        overrideText.Should().Contain("override: --normalization none instead of the file's pono").And.Contain("moving average");

        foreach (var (variants, message) in new[] { (new[] { "16" }, "0..15"), (new[] { "1", "1" }, "more than once") })
        {
            var (bad, _, error) = Capture(new[] { "sample", "--checkpoint", path, "--count", "1", "--order-variants" }
                .Concat(variants).Concat(new[] { "--output", dir, "--force" }).ToArray());
            bad.Should().Be(1);
            error.Should().Contain("--order-variants").And.Contain(message);
        }
        var (unknown, _, unknownError) = Capture(new[] { "sample", "--checkpoint", Path.Combine(fixtures, "bad_args_unknown_order.pth"),
            "--count", "1", "--output", dir, "--force" });
        unknown.Should().Be(1);
        unknownError.Should().Contain("bad_args_unknown_order.pth").And.Contain("'zigzag'");
    }

    [Fact]
    public void UnknownRegionsAndMissingDataAreReportedClearly()
    {
        var act = () => new RegionChoice("middle");
        act.Should().Throw<ArgumentException>().WithMessage("*middle*top, bottom, left, right, centre*");
        new RegionChoice("centre").For(28, 28).Pixels.Should().HaveCount(14 * 14);
        var outside = () => new RegionChoice("box:20,20,10,10").For(28, 28);
        outside.Should().Throw<InputError>().WithMessage("--region box:20,20,10,10: does not fit the model's 28x28 images*");
        var terminal = new Terminal(TextWriter.Null, TextWriter.Null, interactive: false);
        var cifar = () => DataSources.Read(Datasets.Cifar10, null, train: true, new ImageFolderOptions(), terminal);
        cifar.Should().Throw<ArgumentException>().WithMessage("*--data*");
    }
}
