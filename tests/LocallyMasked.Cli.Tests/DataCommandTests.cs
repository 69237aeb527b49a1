using LocallyMasked.Checkpoints;
using LocallyMasked.Cli;
using LocallyMasked.Cli.Data;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Training.Tests.Data;

namespace LocallyMasked.Cli.Tests;

/// <summary>The program's data features: download, --download, folders of images, Fashion-MNIST.</summary>
public sealed class DataCommandTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-data-").FullName;
    private readonly LoopbackServer server = new();

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    private string P(string relative) => Path.Combine(dir, relative);

    /// <summary>Runs the program in-process and returns its exit code, standard output and standard error.</summary>
    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var run = Lmconv.Run(args);
        return (run.Code, run.Out, run.Err);
    }

    private static readonly string[] TinyTraining =
    {
        "--steps", "1", "--batch-size", "2", "--filters", "4", "--orders", "1", "--eval-every", "0", "--final-eval-images", "2", "--samples", "0",
    };

    private string FixtureIdxFolder(string name)
    {
        string folder = P(name);
        Directory.CreateDirectory(folder);
        foreach (var (file, data) in DataFixtures.MnistFiles()) File.WriteAllBytes(Path.Combine(folder, file), data);
        return folder;
    }

    [Fact]
    public void DownloadRefusesFilesThatAreNotThePublishedOnesAndLeavesNothing()
    {
        foreach (var (file, data) in DataFixtures.MnistFiles()) server.Files[file] = data;   // real names, other bytes
        string target = P("mnist");

        var (code, _, error) = Run("download", "mnist", "--mirror", server.BaseUrl.AbsoluteUri, "--to", target);

        code.Should().Be(1);
        error.Should().Contain($"Could not download {server.BaseUrl}train-images-idx3-ubyte.gz: the server announces")
            .And.Contain("t10k-labels-idx1-ubyte.gz").And.Contain("Then pass that folder as --data.");
        Directory.Exists(target).Should().BeFalse();
    }

    [Fact]
    public void OfflineDownloadSaysWhichAddressWhereToGetTheFilesAndTheLayout()
    {
        var offline = LoopbackServer.Unreachable();
        string target = P("cifar");

        var (code, _, error) = Run("download", "cifar10", "--mirror", offline.AbsoluteUri, "--to", target);

        code.Should().Be(1);
        error.Should().Contain($"Could not download {offline}cifar-10-binary.tar.gz: cannot connect")
            .And.Contain("https://www.cs.toronto.edu/~kriz/cifar.html").And.Contain("cifar-10-batches-bin/ with data_batch_1.bin")
            .And.Contain(target);
        Directory.Exists(target).Should().BeFalse();
    }

    [Fact]
    public void DownloadIntoAReadOnlyFolderIsOneClearError()
    {
        foreach (var (file, data) in DataFixtures.MnistFiles()) server.Files[file] = data;
        string target = ReadOnlyFolder.Create(dir);

        var (code, _, error) = Run("download", "fashion-mnist", "--mirror", server.BaseUrl.AbsoluteUri, "--to", target);

        code.Should().Be(1);
        error.Should().Contain($"Cannot write to {target}").And.Contain("choose a folder you can write to");
    }

    [Fact]
    public void DownloadPrintsProgressAndSkipsVerifiedFilesOnTheSecondRun()
    {
        var files = DataFixtures.MnistFiles();
        foreach (var (file, data) in files) server.Files[file] = data;
        var dataset = DataFixtures.Describe("fixture", files, server.BaseUrl);
        var output = new StringWriter();

        DataDownloads.Run(dataset, P("fixture"), output);
        DataDownloads.Run(dataset, P("fixture"), output);

        string text = output.ToString();
        text.Should().Contain("train-images-idx3-ubyte.gz: ").And.Contain("checksums verified")
            .And.Contain("fixture: ready in").And.Contain("(4 downloaded, 0 already there)").And.Contain("(0 downloaded, 4 already there)");
        server.Requests.Should().HaveCount(4);
        DownloadProgressPrinter.Bytes(9_912_422).Should().Be("9.9 MB");
    }

    [Fact]
    public void TrainWithDownloadFetchesFirstAndStopsOnAFailure()
    {
        foreach (var (file, data) in DataFixtures.MnistFiles()) server.Files[file] = data;

        var (code, _, error) = Run(new[] { "train", "--dataset", "fashion-mnist", "--download", "--mirror", server.BaseUrl.AbsoluteUri,
            "--data", P("fashion"), "--output", P("out") }.Concat(TinyTraining).ToArray());

        code.Should().Be(1);
        error.Should().Contain($"Could not download {server.BaseUrl}train-images-idx3-ubyte.gz").And.Contain("zalandoresearch/fashion-mnist");
        Directory.Exists(P("fashion")).Should().BeFalse();
        File.Exists(P("out/model.ckpt")).Should().BeFalse();
    }

    [Fact]
    public void FashionMnistReadsLikeMnist()
    {
        string folder = FixtureIdxFolder("fashion");

        var (code, output, _) = Run(new[] { "train", "--dataset", "fashion-mnist", "--data", folder, "--output", P("out") }.Concat(TinyTraining).ToArray());

        code.Should().Be(0);
        output.Should().Contain("data: 5 training and 3 test images of 1x6x4");
        var config = PixelCnnConfig.FromJson(CheckpointMetadata.Read(P("out/model.ckpt")).ModelConfiguration);
        config.Likelihood.Should().Be(LikelihoodKind.GreyLogisticMixture);

        var missing = Run("train", "--dataset", "fashion-mnist", "--output", P("out2"));
        missing.Code.Should().Be(1);
        missing.Error.Should().Contain("Fashion-MNIST is not embedded: pass --download");
    }

    [Fact]
    public void TrainAndEvaluateOnAFolderOfImages()
    {
        for (int i = 0; i < 12; i++)
            ImageFiles.Png(P($"pictures/{(i % 2 == 0 ? "cats" : "dogs")}/{i}.png"), 12, 10, (x, y) => ((byte)(x * 20), (byte)(y * 25), (byte)(i * 20)));
        File.WriteAllBytes(P("pictures/broken.png"), "garbage"u8.ToArray());
        string ckpt = P("out/model.ckpt");

        var (code, output, error) = Run(new[] { "train", "--data", P("pictures"), "--size", "8x8", "--bits", "5", "--test-fraction", "0.25",
            "--seed", "3", "--output", P("out") }.Concat(TinyTraining).ToArray());

        code.Should().Be(0, error);
        output.Should().Contain("data: 9 training and 3 test images of 3x8x8");
        error.Should().Contain("warning:").And.Contain("broken.png (not a PNG, JPEG or BMP image)");
        var config = PixelCnnConfig.FromJson(CheckpointMetadata.Read(ckpt).ModelConfiguration);
        (config.ImageChannels, config.Height, config.Width, config.Bits, config.Likelihood)
            .Should().Be((3, 8, 8, 5, LikelihoodKind.RgbLogisticMixture));

        // evaluate reads the folder at the model's size; the split follows the same --seed and --test-fraction.
        var evaluation = Run("evaluate", "--checkpoint", ckpt, "--data", P("pictures"), "--test-fraction", "0.25", "--seed", "3");
        evaluation.Code.Should().Be(0, evaluation.Error);
        evaluation.Out.Should().Contain("test NLL on 3 images");
    }

    [Fact]
    public void GreyImagesTrainAGreyModel()
    {
        for (int i = 0; i < 6; i++) ImageFiles.GreyPng(P($"digits/{i}.png"), 6, 6, (x, y) => (byte)(x * y * 7 + i));
        for (int i = 0; i < 2; i++) ImageFiles.GreyPng(P($"digits/test/{i}.png"), 6, 6, (x, _) => (byte)(x * 40));

        var (code, output, error) = Run(new[] { "train", "--data", P("digits"), "--output", P("out") }.Concat(TinyTraining).ToArray());

        code.Should().Be(0, error);
        output.Should().Contain("data: 6 training and 2 test images of 1x6x6");
        PixelCnnConfig.FromJson(CheckpointMetadata.Read(P("out/model.ckpt")).ModelConfiguration).Likelihood
            .Should().Be(LikelihoodKind.GreyLogisticMixture);
    }

    [Theory]
    [InlineData("--size", "8y8", "--size 8y8: expected HEIGHTxWIDTH")]
    [InlineData("--channels", "2", "--channels 2: expected 1 (grey) or 3 (RGB)")]
    [InlineData("--test-fraction", "1.5", "--test-fraction 1.5: expected a number between 0 and 1")]
    [InlineData("--bits", "9", "--bits 9: expected 1 to 8")]
    public void BadImageOptionsAreNamed(string option, string value, string message)
    {
        for (int i = 0; i < 4; i++) ImageFiles.GreyPng(P($"imgs/{i}.png"), 4, 4, (_, _) => (byte)i);

        var (code, _, error) = Run(new[] { "train", "--data", P("imgs"), option, value, "--output", P("out") }.Concat(TinyTraining).ToArray());

        // Out-of-range values are refused by the parser: exit code 2, as for any value out of its range.
        code.Should().Be(2, error);
        error.Should().Contain(message);
    }

    [Fact]
    public void OptionsThatDoNotApplyAreRefused()
    {
        string idx = FixtureIdxFolder("idx");
        var size = Run("train", "--dataset", "mnist", "--data", idx, "--size", "8x8", "--output", P("out"));
        size.Code.Should().Be(1);
        size.Error.Should().Contain("--size, --channels and --test-fraction apply to a --data folder of images");

        var mirror = Run("train", "--mirror", "http://example.org/", "--output", P("out"));
        mirror.Code.Should().Be(1);
        mirror.Error.Should().Contain("--mirror: only used with --download");

        var images = Run("train", "--dataset", "images", "--output", P("out"));
        images.Code.Should().Be(1);
        images.Error.Should().Contain("--dataset images: pass --data with a folder of PNG, JPEG or BMP images.");

        var bits = Run("train", "--bits", "4", "--output", P("out"));
        bits.Code.Should().Be(1);
        bits.Error.Should().Contain("--bits: binarized-mnist has two levels per pixel already");
    }
}
