using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Commands;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Layers;
using LocallyMasked.Models;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using TorchSharp;

namespace LocallyMasked.Cli.Tests.Settings;

/// <summary>
/// Each command's typed settings, built from its arguments exactly as a run builds them but without running: the values
/// typed, the defaults, what was typed and what was not, and bad values refused in one message naming the option
/// (<see cref="UsageError"/> where the parser refuses them, exit code 2; <see cref="InputError"/> where the command
/// does, exit code 1). Building settings reads and writes no file.
/// </summary>
public sealed class CommandSettingsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-settings-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Untouched => Path.Combine(dir, "never");

    private static T Settings<T>(params string[] args) => CliApp.Settings<T>(args);

    [Fact]
    public void Train_settings_hold_every_value_typed()
    {
        var s = Settings<TrainSettings>("train", "--steps", "30", "--minutes", "2.5", "--batch-size", "8", "--lr", "0.01", "--lr-decay", "0.99",
            "--lr-decay-per-epoch", "--beta1", "0.9", "--beta2", "0.999", "--clip", "5", "--ema", "0.99", "--per-batch-orders", "--workers", "3",
            "--eval-every", "7", "--eval-images", "9", "--final-eval-images", "11", "--train-images", "64", "--checkpoint", Path.Combine(Untouched, "m.ckpt"),
            "--checkpoint-every", "4", "--samples", "2", "--seed", "42", "--order", "hilbert", "--orders", "3", "--model", "lmconv", "--filters", "8",
            "--blocks", "2", "--mixtures", "3", "--dropout", "0.25", "--max-dilation", "3", "--device", "cpu", "--threads", "2",
            "--dataset", "images", "--data", Path.Combine(dir, "pictures"), "--size", "8x6", "--channels", "3", "--test-fraction", "0.2", "--bits", "5",
            "--sampler", "naive", "--output", Untouched);

        (s.Steps, s.Minutes, s.CheckpointEvery, s.TrainImages, s.FinalImages, s.Samples, s.Workers).Should().Be((30L, 2.5, 4, 64, 11, 2, 3));
        (s.Output, s.CheckpointPath).Should().Be((Untouched, Path.Combine(Untouched, "m.ckpt")));
        s.Options.Should().Be(new TrainerOptions
        {
            BatchSize = 8, LearningRate = 0.01, LearningRateDecay = 0.99, DecayEvery = LearningRateDecayUnit.Epoch, Beta1 = 0.9, Beta2 = 0.999,
            MaxGradientNorm = 5, EmaDecay = 0.99, OrderSampling = OrderSampling.PerBatch, Seed = 42, EvaluateEvery = 7, EvaluationImages = 9,
        });
        s.Orders.Should().Be(new OrderChoice("hilbert", 3, nameGiven: true, countGiven: true));
        s.Model.Should().Be(new NewModelSettings
        {
            Definition = ModelCatalog.Named("lmconv"), DefinitionGiven = true, Filters = 8, Blocks = 2, Mixtures = 3, Dropout = 0.25, MaxDilation = 3, Bits = 5,
        });
        s.Device.Should().Be(new DeviceSettings(DeviceType.CPU, 2));
        s.Data.Should().Be(new DataSettings
        {
            Dataset = Datasets.Images, Folder = Path.Combine(dir, "pictures"), Size = (8, 6), Channels = 3, TestFraction = 0.2, Seed = 42,
        });
        s.Sampler.Should().Be(new SamplerChoice(SamplerKind.Naive, Given: true));
        s.Resume.Should().BeNull();
        Directory.Exists(Untouched).Should().BeFalse("building settings writes nothing");
    }

    [Fact]
    public void Train_settings_left_to_their_defaults_say_so()
    {
        var s = Settings<TrainSettings>("train");
        (s.Steps, s.Minutes, s.CheckpointEvery, s.TrainImages, s.FinalImages, s.Samples, s.Workers).Should().Be((1000L, (double?)null, 50, 0, 500, 16, (int?)null));
        (s.Output, s.CheckpointPath).Should().Be(("out", Path.Combine("out", "model.ckpt")));
        s.Orders.Should().Be(new OrderChoice());
        s.Orders.Given.Should().BeFalse();
        (s.Model.Definition.Kind, s.Model.DefinitionGiven, s.Model.Bits, s.Model.MaxDilation).Should().Be((ModelKind.LocallyMaskedPixelCnn, false, (int?)null, (int?)null));
        s.Data.Should().Be(new DataSettings(), "no --dataset typed: the data set is decided when the run looks at --data");
        s.Device.Should().Be(new DeviceSettings());
        s.Sampler.Should().Be(new SamplerChoice());
    }

    [Fact]
    public void A_resumed_train_keeps_only_the_evaluation_settings_typed_and_refuses_the_others_by_name()
    {
        var s = Settings<TrainSettings>("train", "--resume", "run.ckpt", "--steps", "90", "--eval-every", "5");
        s.Resume.Should().Be(new ResumeSettings("run.ckpt", EvaluateEvery: 5));
        Settings<TrainSettings>("train", "--resume", "run.ckpt").Resume.Should().Be(new ResumeSettings("run.ckpt"));

        var refused = () => Settings<TrainSettings>("train", "--resume", "run.ckpt", "--lr", "0.1", "--order", "zigzag", "--bits", "4");
        refused.Should().Throw<InputError>().WithMessage("--lr, --order, --bits: cannot be used with --resume: the run continues with the settings stored in run.ckpt*");
    }

    [Theory]
    [InlineData("--mirror http://example.org/", "--mirror: only used with --download*")]
    [InlineData("--download --mirror ftp://example.org/", "--mirror ftp://example.org/: expected an http:// or https:// address*")]
    [InlineData("--model pixelcnn++ --max-dilation 3", "--max-dilation: a pixelcnn++ model has no dilated convolutions*")]
    [InlineData("--model pixelcnn++ --order zigzag", "--order zigzag: a pixelcnn++ model generates in raster order only*")]
    [InlineData("--model pixelcnn++ --orders 2", "--orders 2: a pixelcnn++ model has one order (raster)*")]
    [InlineData("--model pixelcnn++ --sampler cached", "--sampler cached: the cached sampler works with lmconv models only*")]
    public void Train_values_the_command_cannot_use_are_named(string options, string message)
    {
        var act = () => Settings<TrainSettings>(new[] { "train" }.Concat(options.Split(' ')).ToArray());
        act.Should().Throw<InputError>().WithMessage(message);
        // The same command line run: one line, exit code 1, nothing written.
        var run = Lmconv.Run(new[] { "train", "--output", Untouched }.Concat(options.Split(' ')).ToArray());
        run.Code.Should().Be(ExitCodes.BadInput, run.Err);
        run.ErrLines.Should().ContainSingle().Which.Should().Be("lmconv: " + act.Should().Throw<InputError>().Which.Message);
        Directory.Exists(Untouched).Should().BeFalse();
    }

    [Theory]
    [InlineData("train --lr 0", "--lr 0: expected a learning rate in (0, 1]")]
    [InlineData("train --orders 9", "--orders 9: expected a whole number from 1 to 8")]
    [InlineData("train --order spiral", "--order")]
    [InlineData("evaluate --checkpoint m.ckpt --workers 0", "--workers 0: expected a number of workers from 1 to 1024")]
    [InlineData("train --size 8y8", "--size 8y8: expected HEIGHTxWIDTH")]
    [InlineData("train --channels 2", "--channels 2: expected 1 (grey) or 3 (RGB)")]
    [InlineData("train --test-fraction 1.5", "--test-fraction 1.5: expected a number between 0 and 1")]
    [InlineData("train --bits 9", "--bits 9: expected 1 to 8")]
    [InlineData("complete --checkpoint m.ckpt --channels 4", "--channels 4: expected 1 (grey) or 3 (RGB)")]
    [InlineData("download mnist --stall-seconds 0", "--stall-seconds 0: expected a number of seconds from 0.1 to 86,400")]
    [InlineData("complete --checkpoint m.ckpt --region middle", "--region middle: expected top, bottom")]
    [InlineData("sample --checkpoint m.ckpt --temperature 0", "--temperature 0: expected a positive temperature")]
    [InlineData("orders --height 0", "--height 0: expected a whole number from 1 to 256")]
    [InlineData("download svhn", "svhn")]
    public void Values_out_of_range_are_usage_errors_that_name_the_option_and_the_help(string commandLine, string named)
    {
        var args = commandLine.Split(' ');
        var act = () => CliApp.Settings(args);
        act.Should().Throw<UsageError>().Which.Message.Should().Contain(named).And.EndWith($"(see 'lmconv {args[0]} --help')");
        Lmconv.Run(args).Code.Should().Be(ExitCodes.Usage);
    }

    [Fact]
    public void Evaluate_settings_hold_the_model_file_the_data_and_the_region()
    {
        var s = Settings<EvaluateSettings>("evaluate", "--checkpoint", "m.ckpt", "--average", "a.ckpt", "b.ckpt", "--images", "12", "--batch-size", "32",
            "--region", "box:1,2,3,4", "--workers", "2", "--dataset", "cifar10", "--data", "cifar", "--normalization", "weight_norm", "--max-dilation", "4",
            "--order-variants", "0", "3", "--order", "s_curve", "--seed", "9");
        s.Model.Should().BeEquivalentTo(new ModelFileSettings
        {
            Checkpoint = "m.ckpt", Average = new[] { "a.ckpt", "b.ckpt" }, Normalization = FeatureNormalization.WeightNorm, MaxDilation = 4,
            OrderVariants = new[] { 0, 3 },
        });
        (s.Images, s.BatchSize, s.Workers, s.Region!.Spec, s.Region.FileNamePart).Should().Be((12, 32, (int?)2, "box:1,2,3,4", "box-1-2-3-4"));
        s.Data.Should().Be(new DataSettings { Dataset = Datasets.Cifar10, Folder = "cifar", Seed = 9 });
        s.Orders.Should().Be(new OrderChoice("s_curve", 8, nameGiven: true));

        var plain = Settings<EvaluateSettings>("evaluate", "--checkpoint", "m.ckpt");
        (plain.Region, plain.Workers, plain.Images, plain.BatchSize, plain.Model.EmaWeights).Should().Be(((RegionChoice?)null, (int?)null, 0, 64, false));
        plain.Model.Average.Should().BeEmpty();
        plain.Data.Dataset.Should().BeNull("the model's likelihood decides the data set when --dataset is left out");
    }

    [Theory]
    [InlineData("evaluate --checkpoint m.ckpt --average a.ckpt --ema-weights", "--ema-weights with --average: *")]
    [InlineData("evaluate --checkpoint m.ckpt --order-variants 1 2 1", "--order-variants 1 2 1: 1 is given more than once; name each order once.")]
    [InlineData("sample --checkpoint m.ckpt --order-variants 0 0", "--order-variants 0 0: 0 is given more than once*")]
    [InlineData("download mnist --mirror example.org", "--mirror example.org: expected an http:// or https:// address*")]
    public void Values_the_other_commands_cannot_use_are_named(string commandLine, string message)
    {
        var act = () => CliApp.Settings(commandLine.Split(' '));
        act.Should().Throw<InputError>().WithMessage(message);
    }

    [Fact]
    public void Sample_and_complete_settings_hold_what_they_draw()
    {
        var sample = Settings<SampleSettings>("sample", "--checkpoint", "m.pth", "--count", "40", "--batch-size", "8", "--temperature", "0.8",
            "--order-index", "2", "--seed", "3", "--dataset", "mnist", "--ema-weights", "--output", Untouched);
        (sample.Count, sample.BatchSize, sample.Temperature, sample.OrderIndex, sample.Seed, sample.Output).Should().Be((40, 8, 0.8, 2, 3UL, Untouched));
        (sample.Dataset, sample.Model.Checkpoint, sample.Model.EmaWeights, sample.Sampler).Should().Be((Datasets.Mnist, "m.pth", true, new SamplerChoice()));
        Settings<SampleSettings>("sample", "--checkpoint", "m.pth").Dataset.Should().BeNull();

        var complete = Settings<CompleteSettings>("complete", "--checkpoint", "m.ckpt", "--first", "5", "--count", "3", "--sampler", "naive");
        (complete.Region.Spec, complete.First, complete.Count, complete.BatchSize, complete.Temperature).Should().Be(("bottom", 5, 3, 32, 1.0));
        complete.Sampler.Should().Be(new SamplerChoice(SamplerKind.Naive, Given: true));
    }

    [Fact]
    public void Orders_and_download_settings_hold_their_values()
    {
        var orders = Settings<OrdersSettings>("orders", "--order", "zigzag", "--height", "6", "--width", "5", "--orders", "2");
        orders.Should().Be(new OrdersSettings { Orders = new OrderChoice("zigzag", 2, true, true), Height = 6, Width = 5, Output = "out/orders" });

        var download = Settings<DownloadSettings>("download", "cifar10", "--mirror", "http://example.org/c", "--stall-seconds", "5");
        (download.Dataset.Name, download.Folder, download.StallTimeout).Should().Be(("cifar10", Path.Combine("data", "cifar10"), TimeSpan.FromSeconds(5)));
        download.Dataset.Mirrors.Should().Equal(new Uri("http://example.org/c/"));
    }

    [Fact]
    public void A_run_uses_the_settings_that_binding_builds()
    {
        // The settings say --order hilbert on 28x28 digits; the run reports the curve that stands for it, as settings describe.
        var run = Lmconv.Run(Lmconv.TinyTraining(Path.Combine(dir, "run"), 1, "--order", "hilbert", "--orders", "1"));
        run.Code.Should().Be(0, run.Err);
        run.Out.Should().Contain("order: hilbert is defined on square images whose side is a power of two; 28x28 images use gilbert2d")
            .And.Contain("model: lmconv, 4 filters, 1 blocks/stage, Binary").And.Contain("1 orders");
    }
}
