using LocallyMasked.Checkpoints;
using LocallyMasked.Cli.Commands;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// <c>--precision 32|bf16-mixed</c> for train, evaluate, sample and complete: a training setting stored in the checkpoint
/// and kept on resume unless typed; evaluation and sampling in float32 unless typed; names that do not exist and bf16 with
/// a float64 model refused in one line; a line when the device has no bf16 units.
/// </summary>
public sealed class PrecisionCliTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-precision-").FullName;
    private readonly TinyCheckpoint fixture;

    public PrecisionCliTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string name) => Path.Combine(dir, name);

    [Fact]
    public void ThePrecisionIsATrainingSettingAndAnEvaluationAndSamplingValue()
    {
        var train = CliApp.Settings<TrainSettings>("train", "--precision", "bf16-mixed");
        (train.Options.Precision, train.Device.Precision).Should().Be((ComputePrecision.BFloat16Mixed, ComputePrecision.BFloat16Mixed));
        var plain = CliApp.Settings<TrainSettings>("train");
        (plain.Options.Precision, plain.Device.Precision).Should().Be((ComputePrecision.Float32, (ComputePrecision?)null));
        CliApp.Settings<TrainSettings>("train", "--resume", "run.ckpt", "--steps", "9").Resume!.Precision.Should().BeNull("the stored precision is kept");
        CliApp.Settings<TrainSettings>("train", "--resume", "run.ckpt", "--steps", "9", "--precision", "32").Resume!.Precision.Should().Be(ComputePrecision.Float32);
        CliApp.Settings<EvaluateSettings>("evaluate", "--checkpoint", "m.ckpt", "--precision", "bf16-mixed").Device.Precision.Should().Be(ComputePrecision.BFloat16Mixed);
        CliApp.Settings<SampleSettings>("sample", "--checkpoint", "m.ckpt").Device.Precision.Should().BeNull();
        CliApp.Settings<CompleteSettings>("complete", "--checkpoint", "m.ckpt", "--precision", "32").Device.Precision.Should().Be(ComputePrecision.Float32);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("evaluate")]
    [InlineData("sample")]
    [InlineData("complete")]
    [InlineData("score")]
    public void APrecisionThatDoesNotExistIsAUsageErrorInOneLine(string command)
    {
        var args = command switch
        {
            "train" => new[] { "train", "--precision", "fp16", "--output", P("never") },
            "score" => new[] { "score", "--checkpoint", fixture.Path, "--data", dir, "--precision", "fp16" },
            _ => new[] { command, "--checkpoint", fixture.Path, "--precision", "fp16" },
        };
        var run = Lmconv.Run(args);
        run.ErrLines.Should().ContainSingle(run.Err);
        run.ErrLines[0].Should().StartWith("lmconv: ").And.Contain("--precision").And.Contain("fp16").And.NotContain("Exception");
        run.Code.Should().Be(ExitCodes.Usage);
        Directory.Exists(P("never")).Should().BeFalse();
    }

    [Fact]
    public void BFloat16WithAFloat64ModelIsAnInputErrorInOneLine()
    {
        // A float64 training checkpoint of the fixture's model (the library writes them; the program loads them as float64).
        string path = P("double.ckpt");
        using (var loaded = PixelCnnCheckpoint.LoadModel(fixture.Path))
        {
            var config = (PixelCnnConfig)loaded.Model.Configuration;
            using var model = new LocallyMaskedPixelCnn(config, dtype: ScalarType.Float64);
            var data = new ImageDataset(new byte[8 * config.PixelCount], new byte[8], 1, config.Height, config.Width, "blank");
            using var trainer = PixelCnnTraining.CreateTrainer(model, loaded.Orders!, data, null,
                new TrainerOptions { BatchSize = 4, Encoding = InputEncoding.DynamicBinarization });
            trainer.Save(path);
        }

        foreach (var command in new[] { "evaluate", "score", "sample", "complete" })
        {
            var args = new[] { command, "--checkpoint", path, "--precision", "bf16-mixed" };
            var run = Lmconv.Run(command switch
            {
                "evaluate" => args,
                "score" => args.Concat(new[] { "--data", dir }).ToArray(),
                _ => args.Concat(new[] { "--output", P("never") }).ToArray(),
            });
            run.ErrLines.Should().ContainSingle(run.Err);
            run.ErrLines[0].Should().Contain("--precision bf16-mixed").And.Contain("Float64").And.NotContain("Exception");
            run.Code.Should().Be(ExitCodes.BadInput, command);
        }

        // complete's own pictures (--image, --mask) go through the same check.
        string picture = ImageFiles.GreyPng(P("picture.png"), 28, 28, (x, y) => (byte)(x * 9));
        string mask = ImageFiles.GreyPng(P("mask.png"), 28, 28, (x, y) => y > 20 ? (byte)255 : (byte)0);
        var own = Lmconv.Run("complete", "--checkpoint", path, "--image", picture, "--mask", mask, "--precision", "bf16-mixed", "--output", P("never"));
        own.ErrLines.Should().ContainSingle(own.Err);
        own.ErrLines[0].Should().Contain("--precision bf16-mixed").And.Contain("Float64");
        own.Code.Should().Be(ExitCodes.BadInput);
        Directory.Exists(P("never")).Should().BeFalse();
    }

    [Fact]
    public void ABFloat16RunStoresItsPrecisionAResumeKeepsItUnlessTypedAndTheOtherCommandsRunInIt()
    {
        string output = P("run"), checkpoint = Path.Combine(output, "model.ckpt");
        var first = Lmconv.Run(Lmconv.TinyTraining(output, 2, "--precision", "bf16-mixed"));
        first.Code.Should().Be(0, first.Err);
        first.Out.Should().Contain("precision bf16-mixed");
        Stored(checkpoint).Should().Be("bf16-mixed");
        // This machine's CPU flags decide whether the emulation line appears.
        first.Out.Contains("libtorch emulates bf16").Should().Be(!BFloat16Support.IsNative(CPU, out _));

        string[] Resume(int steps, params string[] more) =>
            new[] { "train", "--resume", checkpoint, "--steps", steps.ToString(), "--train-images", "64", "--eval-every", "0", "--final-eval-images", "4",
                "--samples", "0", "--output", output }.Concat(more).ToArray();
        var kept = Lmconv.Run(Resume(3));
        kept.Code.Should().Be(0, kept.Err);
        kept.Out.Should().Contain("precision bf16-mixed");
        Stored(checkpoint).Should().Be("bf16-mixed");
        var changed = Lmconv.Run(Resume(4, "--precision", "32"));
        changed.Code.Should().Be(0, changed.Err);
        changed.Out.Should().NotContain("precision bf16-mixed");
        Stored(checkpoint).Should().Be("32");

        var evaluate = Lmconv.Run("evaluate", "--checkpoint", checkpoint, "--images", "4", "--precision", "bf16-mixed");
        evaluate.Code.Should().Be(0, evaluate.Err);
        var sample = Lmconv.Run("sample", "--checkpoint", checkpoint, "--count", "1", "--precision", "bf16-mixed", "--output", P("samples"));
        sample.Code.Should().Be(0, sample.Err);
        var complete = Lmconv.Run("complete", "--checkpoint", checkpoint, "--count", "1", "--precision", "bf16-mixed", "--output", P("completions"));
        complete.Code.Should().Be(0, complete.Err);
        string picture = ImageFiles.GreyPng(P("picture.png"), 28, 28, (x, y) => (byte)(x * 9));
        string mask = ImageFiles.GreyPng(P("mask.png"), 28, 28, (x, y) => y > 20 ? (byte)255 : (byte)0);
        var own = Lmconv.Run("complete", "--checkpoint", checkpoint, "--image", picture, "--mask", mask, "--count", "1", "--precision", "bf16-mixed",
            "--output", P("pictures"));
        own.Code.Should().Be(0, own.Err);
    }

    private static string Stored(string checkpoint) => CheckpointMetadata.Read(checkpoint).Options!["Precision"]!.GetValue<string>();
}
