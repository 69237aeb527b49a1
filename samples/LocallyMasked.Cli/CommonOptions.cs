using LocallyMasked.Sampling;
using System.CommandLine;
using System.CommandLine.Parsing;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>Options shared by several commands, and how they become library values.</summary>
public sealed class CommonOptions
{
    /// <summary>--device cpu|cuda.</summary>
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda.", DefaultValueFactory = _ => "cpu" };

    /// <summary>--data: folder with MNIST IDX files, CIFAR-10 batches or images; the embedded digits when absent.</summary>
    public Option<string?> Data { get; } = new("--data") { Description = "Folder of MNIST / Fashion-MNIST IDX files (gzip or raw), CIFAR-10 binary batches, or PNG/JPEG/BMP images (searched recursively; a test/ subfolder holds the test images). Default: the embedded 10,000 digits." };

    /// <summary>--dataset.</summary>
    public Option<string> Dataset { get; } = new("--dataset") { Description = "mnist, binarized-mnist, fashion-mnist, cifar10 or images (default binarized-mnist; images when --data is a folder of images).", DefaultValueFactory = _ => "binarized-mnist" };

    /// <summary>Downloading and image-folder options (--download, --mirror, --size, --channels, --test-fraction, --bits).</summary>
    public DataOptions DataExtras { get; } = new();

    /// <summary>--output folder.</summary>
    public Option<string> Output { get; } = new("--output", "-o") { Description = "Output folder.", DefaultValueFactory = _ => "out" };

    /// <summary>--seed.</summary>
    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 1UL };

    /// <summary>--order.</summary>
    public Option<string> Order { get; } = new("--order") { Description = "Base order: s-curve, raster, zigzag or hilbert.", DefaultValueFactory = _ => "s-curve" };

    /// <summary>--orders: how many symmetric variants of the base order.</summary>
    public Option<int> Orders { get; } = new("--orders") { Description = "How many of the base order's 8 symmetric variants (1-8).", DefaultValueFactory = _ => 8 };

    /// <summary>--filters.</summary>
    public Option<int> Filters { get; } = new("--filters") { Description = "Feature channels per layer.", DefaultValueFactory = _ => 16 };

    /// <summary>--blocks.</summary>
    public Option<int> Blocks { get; } = new("--blocks") { Description = "Residual blocks per stage.", DefaultValueFactory = _ => 1 };

    /// <summary>--mixtures.</summary>
    public Option<int> Mixtures { get; } = new("--mixtures") { Description = "Logistic mixture components (grey and RGB data).", DefaultValueFactory = _ => 5 };

    /// <summary>--dropout.</summary>
    public Option<double> Dropout { get; } = new("--dropout") { Description = "Channel dropout in the residual blocks while training.", DefaultValueFactory = _ => 0.0 };

    /// <summary>--sampler: how images are generated (the cached sampler is exact and far faster).</summary>
    public Option<string> Sampler { get; } = new("--sampler") { Description = "cached (one network evaluation per pixel location) or naive (one full pass per pixel).", DefaultValueFactory = _ => "cached" };

    /// <summary>Creates the options with their accepted values.</summary>
    public CommonOptions()
    {
        Device.AcceptOnlyFromAmong("cpu", "cuda");
        Sampler.AcceptOnlyFromAmong("cached", "naive");
        Dataset.AcceptOnlyFromAmong(DataSources.Names);
        Order.AcceptOnlyFromAmong(OrderNames.All.ToArray());
    }

    /// <summary>Adds the data and device options to a command.</summary>
    /// <param name="command">The command.</param>
    public void AddDataOptions(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(Data);
        command.Options.Add(Dataset);
        command.Options.Add(Output);
        command.Options.Add(Seed);
        command.Options.Add(Order);
        command.Options.Add(Orders);
        command.Options.Add(Sampler);
    }

    /// <summary>The sampler named by --sampler, for <paramref name="model"/>.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="model">The model to sample from.</param>
    public ImageSampler SamplerOf(ParseResult result, LocallyMaskedPixelCnn model) =>
        ImageSampler.Create(result.GetValue(Sampler) == "naive" ? SamplerKind.Naive : SamplerKind.Cached, model);

    /// <summary>Sampling options from --seed, with a progress line over <paramref name="pixels"/> generated pixels.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="pixels">How many pixels are generated.</param>
    /// <param name="temperature">The sampling temperature.</param>
    public SamplingOptions SamplingOf(ParseResult result, int pixels, double temperature = 1.0)
    {
        var progress = new PixelProgress(pixels);
        int done = 0;
        return new SamplingOptions
        {
            Seed = unchecked((long)result.GetValue(Seed)),
            Temperature = temperature,
            StepObserver = (_, _) => progress.Report(++done),
        };
    }

    /// <summary>Adds the model-size options to a command.</summary>
    /// <param name="command">The command.</param>
    public void AddModelOptions(Command command)
    {
        command.Options.Add(Filters);
        command.Options.Add(Blocks);
        command.Options.Add(Mixtures);
        command.Options.Add(Dropout);
    }

    /// <summary>The torch device named by --device (checking that CUDA is there when asked for).</summary>
    /// <param name="result">The parse result.</param>
    public Device DeviceOf(ParseResult result)
    {
        string name = result.GetValue(Device)!;
        if (name == "cuda" && !cuda.is_available())
            throw new ArgumentException("--device cuda: no CUDA device is available (this build uses the CPU backend package TorchSharp-cpu; build with -p:TorchBackend=cuda).");
        return name == "cuda" ? CUDA : CPU;
    }

    /// <summary>The model configuration for a data set and image size from the size options.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="kind">The data set.</param>
    /// <param name="channels">Image channels.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public PixelCnnConfig ConfigFor(ParseResult result, DatasetKind kind, int channels, int height, int width) => new()
    {
        ImageChannels = channels,
        Height = height,
        Width = width,
        Filters = result.GetValue(Filters),
        ResidualBlocks = result.GetValue(Blocks),
        MixtureComponents = result.GetValue(Mixtures),
        Dropout = result.GetValue(Dropout),
        Bits = DataExtras.BitsFor(result, kind),
        Likelihood = kind switch
        {
            DatasetKind.BinarizedMnist => LikelihoodKind.Binary,
            DatasetKind.Mnist or DatasetKind.FashionMnist => LikelihoodKind.GreyLogisticMixture,
            DatasetKind.Images when channels == 1 => LikelihoodKind.GreyLogisticMixture,
            _ => LikelihoodKind.RgbLogisticMixture,
        },
    };

    /// <summary>
    /// Applies the size options the user gave explicitly on top of a configuration read from a checkpoint (those
    /// left at their defaults keep the checkpoint's values).
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="config">The configuration read from the checkpoint.</param>
    public PixelCnnConfig Override(ParseResult result, PixelCnnConfig config)
    {
        if (Given(result, Filters)) config = config with { Filters = result.GetValue(Filters) };
        if (Given(result, Blocks)) config = config with { ResidualBlocks = result.GetValue(Blocks) };
        if (Given(result, Mixtures)) config = config with { MixtureComponents = result.GetValue(Mixtures) };
        return config;
    }

    /// <summary>Whether the user typed <paramref name="option"/> (rather than leaving its default).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="option">The option.</param>
    public static bool Given(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };
}
