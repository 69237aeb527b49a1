using LocallyMasked.Checkpoints;
using LocallyMasked.Cli;
using LocallyMasked.Models;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// <c>lmconv train --model pixelcnn++</c> and the commands on its checkpoints: the baseline goes through the same
/// commands as the locally masked model, with its one raster order.
/// </summary>
public sealed class BaselineCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-baseline-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string relative) => Path.Combine(dir, relative);

    /// <summary>Runs the program in-process, with its output and errors captured (everything it prints goes through its terminal).</summary>
    private static (int Code, string Out, string Error) Run(params string[] args)
    {
        var run = Lmconv.Run(args);
        return (run.Code, run.Out, run.Err);
    }

    private static void ShouldFailInOneLine((int Code, string Out, string Error) run, int code, params string[] named)
    {
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().ContainSingle($"one line is expected on standard error, got:\n{run.Error}");
        lines[0].Should().StartWith("lmconv: ");
        foreach (var name in named) lines[0].Should().Contain(name);
        lines[0].Should().NotContainAny("Exception", "   at ", "please report");
        run.Code.Should().Be(code, lines[0]);
    }

    private static readonly string[] Tiny =
    {
        "--model", "pixelcnn++", "--filters", "4", "--blocks", "1", "--batch-size", "4", "--train-images", "64", "--eval-every", "0",
        "--final-eval-images", "4", "--checkpoint-every", "1",
    };

    /// <summary>8x8 grey pictures (a folder data set): small enough for the naive sampler's 64 passes.</summary>
    private string Pictures()
    {
        for (int i = 0; i < 10; i++) ImageFiles.GreyPng(P($"pictures/{i}.png"), 8, 8, (x, y) => (byte)((x * 31 + y * 17 + i * 5) % 256));
        for (int i = 0; i < 3; i++) ImageFiles.GreyPng(P($"pictures/test/{i}.png"), 8, 8, (x, y) => (byte)(x * y * 4 + i));
        return P("pictures");
    }

    [Fact]
    public void Train_evaluate_and_resume_a_baseline_on_the_embedded_digits()
    {
        string output = P("digits");
        var train = Run(new[] { "train", "--steps", "2", "--samples", "0", "--output", output }.Concat(Tiny).ToArray());
        train.Code.Should().Be(0, train.Error);
        train.Out.Should().Contain("model: pixelcnn++, 4 filters, 1 blocks/stage, Binary").And.Contain("raster order");
        train.Out.Should().Contain("| raster").And.NotContain("ensemble");
        string checkpoint = Path.Combine(output, "model.ckpt");
        var metadata = CheckpointMetadata.Read(checkpoint);
        (metadata.Step, metadata.ModelType).Should().Be((2L, typeof(PixelCnnPlusPlus).FullName!));
        PixelCnnPlusPlusConfig.FromJson(metadata.ModelConfiguration).Filters.Should().Be(4);

        var evaluate = Run("evaluate", "--checkpoint", checkpoint, "--images", "4", "--region", "centre");
        evaluate.Code.Should().Be(0, evaluate.Error);
        evaluate.Out.Should().Contain("(pixelcnn++, step 2, 4 filters, 1 blocks, Binary)");
        evaluate.Out.Should().Contain("| raster").And.NotContain("ensemble");
        evaluate.Out.Should().Contain("region centre (196 pixels) given the pixels before it in raster order");
        // --order raster and --orders 1 mean its order; --order-variants 0 selects it.
        Run("evaluate", "--checkpoint", checkpoint, "--images", "2", "--order", "raster", "--orders", "1", "--order-variants", "0").Code.Should().Be(0);

        // Resuming continues the baseline (with or without --model naming it).
        var resume = Run("train", "--resume", checkpoint, "--model", "pixelcnn++", "--steps", "3", "--train-images", "64", "--final-eval-images", "2",
            "--samples", "0", "--output", output);
        resume.Code.Should().Be(0, resume.Error);
        CheckpointMetadata.Read(checkpoint).Step.Should().Be(3);
    }

    [Fact]
    public void Sample_complete_and_average_a_baseline_with_the_naive_sampler()
    {
        string data = Pictures(), output = P("out");
        var train = Run("train", "--model", "pixelcnn++", "--data", data, "--filters", "4", "--blocks", "1", "--steps", "2", "--batch-size", "2",
            "--eval-every", "0", "--checkpoint-every", "1", "--samples", "2", "--output", output);
        train.Code.Should().Be(0, train.Error);
        // The default --sampler cached falls back to the naive sampler, and says so.
        train.Out.Should().Contain("sampler: naive (the cached sampler is for lmconv models");
        File.Exists(Path.Combine(output, "samples.png")).Should().BeTrue();
        string checkpoint = Path.Combine(output, "model.ckpt"), early = P("early.ckpt");
        File.Copy(checkpoint, early);
        Run("train", "--resume", checkpoint, "--steps", "3", "--data", data, "--final-eval-images", "2", "--samples", "0", "--output", output).Code.Should().Be(0);

        var sample = Run("sample", "--checkpoint", checkpoint, "--count", "2", "--sampler", "naive", "--seed", "3", "--output", P("s1"));
        sample.Code.Should().Be(0, sample.Error);
        sample.Out.Should().NotContain("sampler: naive (");
        Run("sample", "--checkpoint", checkpoint, "--count", "2", "--sampler", "naive", "--seed", "3", "--output", P("s2")).Code.Should().Be(0);
        File.ReadAllBytes(P("s1/samples.png")).Should().Equal(File.ReadAllBytes(P("s2/samples.png")), "the same seed draws the same images");

        var complete = Run("complete", "--checkpoint", checkpoint, "--data", data, "--region", "centre", "--count", "2", "--output", output);
        complete.Code.Should().Be(0, complete.Error);
        complete.Out.Should().Contain("order: raster (a pixelcnn++ model cannot generate the missing pixels last");
        File.Exists(Path.Combine(output, "completions-centre.png")).Should().BeTrue();

        var average = Run("evaluate", "--checkpoint", checkpoint, "--average", early, "--data", data);
        average.Code.Should().Be(0, average.Error);
        average.Out.Should().Contain("mean of the weights of 2 checkpoints").And.Contain("| raster");
    }

    [Theory]
    [InlineData("--order hilbert", "--order hilbert", "raster order only")]
    [InlineData("--orders 8", "--orders 8", "one order (raster)")]
    [InlineData("--order s-curve --orders 1", "--order s-curve", "raster order only")]
    public void Train_refuses_orders_other_than_raster_for_a_baseline(string options, string named, string why)
    {
        string output = P("refused");
        var run = Lmconv.Run(new[] { "train", "--model", "pixelcnn++", "--output", output }.Concat(options.Split(' ')).ToArray());
        ShouldFailInOneLine((run.Code, run.Out, run.Err), ExitCodes.BadInput, named, why);
        Directory.Exists(output).Should().BeFalse("a rejected command writes nothing");
    }

    [Fact]
    public void Bad_combinations_with_a_baseline_fail_in_one_line()
    {
        string output = P("digits");
        Run(new[] { "train", "--steps", "1", "--samples", "0", "--output", output }.Concat(Tiny).ToArray()).Code.Should().Be(0);
        string checkpoint = Path.Combine(output, "model.ckpt");
        var untouched = P("untouched");

        var cached = Lmconv.Run("sample", "--checkpoint", checkpoint, "--sampler", "cached", "--output", untouched);
        ShouldFailInOneLine((cached.Code, cached.Out, cached.Err), ExitCodes.BadInput, "--sampler cached", "lmconv models only");
        var order = Lmconv.Run("evaluate", "--checkpoint", checkpoint, "--order", "zigzag");
        ShouldFailInOneLine((order.Code, order.Out, order.Err), ExitCodes.BadInput, "--order zigzag", "raster order only");
        var normalization = Lmconv.Run("evaluate", "--checkpoint", checkpoint, "--normalization", "pono");
        ShouldFailInOneLine((normalization.Code, normalization.Out, normalization.Err), ExitCodes.BadInput, checkpoint, "PixelCNN++ baseline", "normalization");
        var other = Lmconv.Run("train", "--resume", checkpoint, "--model", "lmconv", "--steps", "5", "--output", untouched);
        ShouldFailInOneLine((other.Code, other.Out, other.Err), ExitCodes.BadInput, "--model lmconv", "pixelcnn++");
        var unknown = Lmconv.Run("train", "--model", "pixelcnn", "--output", untouched);
        ShouldFailInOneLine((unknown.Code, unknown.Out, unknown.Err), ExitCodes.Usage, "--model");
        for (int i = 0; i < 4; i++) ImageFiles.GreyPng(P($"six/{i}.png"), 6, 6, (x, y) => (byte)(x * 40 + y));
        var size = Lmconv.Run("train", "--model", "pixelcnn++", "--data", P("six"), "--test-fraction", "0.5", "--batch-size", "2", "--output", untouched);
        ShouldFailInOneLine((size.Code, size.Out, size.Err), ExitCodes.BadInput, "--model pixelcnn++", "6x6", "multiples of 4");
        Directory.Exists(untouched).Should().BeFalse("a rejected command writes nothing");
    }
}
