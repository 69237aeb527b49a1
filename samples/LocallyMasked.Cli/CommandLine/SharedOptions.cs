using LocallyMasked.Sampling;
using System.CommandLine;
using System.CommandLine.Parsing;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
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

    /// <summary>--seed: everything a run draws (weights, data order, binarization, orders, dropout, samples) follows it.</summary>
    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed: the same command with the same seed gives the same result (on the same machine, with the same --threads).", DefaultValueFactory = _ => 1UL };

    /// <summary>--threads: libtorch's CPU threads.</summary>
    public Option<int?> Threads { get; } = new("--threads") { Description = "libtorch CPU threads (default: the machine's cores). Results are reproducible for a fixed thread count." };

    /// <summary>--order.</summary>
    public Option<string> Order { get; } = new("--order") { Description = OrderNames.Description, DefaultValueFactory = _ => "s-curve" };

    /// <summary>--orders: how many symmetric variants of the base order.</summary>
    public Option<int> Orders { get; } = new("--orders") { Description = "How many of the base order's 8 symmetric variants (1-8).", DefaultValueFactory = _ => 8 };

    /// <summary>--model: which model train builds.</summary>
    public Option<string> Model { get; } = new("--model")
    {
        Description = "lmconv (the locally masked PixelCNN++, any order) or pixelcnn++ (the PixelCNN++ baseline, raster order only). "
            + "--filters, --blocks, --mixtures and --dropout size either.",
        DefaultValueFactory = _ => "lmconv",
    };

    /// <summary>The program's name of a model kind (lmconv, pixelcnn++: <see cref="ModelDefinition.Name"/> in the model catalog).</summary>
    /// <param name="kind">The kind.</param>
    public static string NameOf(ModelKind kind) => ModelCatalog.Get(kind).Name;

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

    /// <summary>--normalization: what a model file does not record, or an override of what it records.</summary>
    public Option<string?> Normalization { get; } = new("--normalization")
    {
        Description = "Feature normalization of a model loaded from a file, as the authors name it: pono, weight_norm, none or order_rescale. "
            + "Needed only for weight files that do not record it (then pono, the published models', is assumed and said); otherwise an override.",
    };

    /// <summary>--max-dilation: the dilation of the resampling convolutions of a model loaded from a file.</summary>
    public Option<int?> MaxDilation { get; } = new("--max-dilation")
    {
        Description = "Dilation of the resampling convolutions (the authors' --max_dilation). train: of the new model (default 2). "
            + "evaluate, sample, complete: needed only for weight files that do not record it (then 2 is assumed and said); otherwise an override.",
    };

    /// <summary>--ema-weights: the moving average of the weights instead of the trained weights.</summary>
    public Option<bool> EmaWeights { get; } = new("--ema-weights")
    {
        Description = "Use the exponential moving average of the weights: the authors' ema_state_dict, or the weight average of this program's checkpoints.",
    };

    /// <summary>--order-variants: which of the model's orders to use, by index.</summary>
    public Option<int[]> OrderVariants { get; } = new("--order-variants")
    {
        Description = "Use only these of the model's orders, by index (the authors' test_masks / order_variants numbering: 0 identity, 1 reflect rows, ...). Default: all.",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>The authors' normalization names and their values.</summary>
    public static IReadOnlyDictionary<string, FeatureNormalization> NormalizationNames { get; } = new Dictionary<string, FeatureNormalization>(StringComparer.Ordinal)
    {
        ["pono"] = FeatureNormalization.Pono,
        ["weight_norm"] = FeatureNormalization.WeightNorm,
        ["none"] = FeatureNormalization.None,
        ["order_rescale"] = FeatureNormalization.OrderRescale,
    };

    /// <summary>Creates the options with their accepted values.</summary>
    public CommonOptions()
    {
        Device.AcceptOnlyFromAmong("cpu", "cuda");
        Sampler.AcceptOnlyFromAmong("cached", "naive");
        Model.AcceptOnlyFromAmong(ModelCatalog.Names.ToArray());
        Dataset.AcceptOnlyFromAmong(DataSources.Names);
        Order.AcceptOnlyFromAmong(OrderNames.All.ToArray());
        Normalization.AcceptOnlyFromAmong(NormalizationNames.Keys.ToArray());
        MaxDilation.Accepting(v => v is null or >= 1, "a dilation of at least 1");
        Orders.Between(1, 8);
        Filters.AtLeast(1, "a number of filters");
        Blocks.AtLeast(1, "a number of blocks");
        Mixtures.AtLeast(1, "a number of mixture components");
        Dropout.Finite(v => v >= 0 && v < 1, "a dropout probability in [0, 1)");
        Threads.Accepting(v => v is null or >= 1, "a number of threads, at least 1");
    }

    /// <summary>Adds options to a command (only those it uses, so that its --help lists only those).</summary>
    /// <param name="command">The command.</param>
    /// <param name="options">The options.</param>
    public static void Add(Command command, params Option[] options)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in options) command.Options.Add(option);
    }

    /// <summary>Adds --device and --threads.</summary>
    /// <param name="command">The command.</param>
    public void AddDeviceOptions(Command command) => Add(command, Device, Threads);

    /// <summary>Adds --data and --dataset.</summary>
    /// <param name="command">The command.</param>
    public void AddDataOptions(Command command) => Add(command, Data, Dataset);

    /// <summary>Adds --order and --orders.</summary>
    /// <param name="command">The command.</param>
    public void AddOrderOptions(Command command) => Add(command, Order, Orders);

    /// <summary>Adds the model-size options (--filters, --blocks, --mixtures).</summary>
    /// <param name="command">The command.</param>
    public void AddModelOptions(Command command) => Add(command, Filters, Blocks, Mixtures);

    /// <summary>Adds --sampler and --seed.</summary>
    /// <param name="command">The command.</param>
    public void AddSamplingOptions(Command command) => Add(command, Sampler, Seed);

    /// <summary>
    /// The sampler named by --sampler, for <paramref name="model"/>. The cached sampler exists for lmconv models only: for a
    /// pixelcnn++ model an explicit <c>--sampler cached</c> is an error, and the default falls back to the naive sampler with
    /// a line saying so.
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="model">The model to sample from.</param>
    /// <param name="terminal">Where the fallback is reported.</param>
    public ImageSampler SamplerOf(ParseResult result, IAutoregressiveImageModel model, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(terminal);
        bool naive = result.GetValue(Sampler) == "naive";
        if (!naive && model is not LocallyMaskedPixelCnn)
        {
            if (Given(result, Sampler))
                throw new InputError(
                    $"--sampler cached: the cached sampler works with lmconv models only; this {NameOf(model.Kind)} model samples with --sampler naive "
                    + "(one full network pass per pixel).");
            terminal.Line($"sampler: naive (the cached sampler is for lmconv models; a {NameOf(model.Kind)} model takes one full network pass per pixel)");
            naive = true;
        }
        return ImageSampler.Create(naive ? SamplerKind.Naive : SamplerKind.Cached, model);
    }

    /// <summary>The --workers default of train and evaluate: 2 on a CPU with at least 2 libtorch threads (small models are
    /// bound by the cost of issuing operations there), else 1.</summary>
    /// <param name="device">The model's device.</param>
    public static int DefaultWorkers(Device device) => device.type == DeviceType.CPU && torch.get_num_threads() >= 2 ? 2 : 1;

    /// <summary>Sets libtorch's CPU threads from --threads until the returned handle is disposed.</summary>
    /// <param name="result">The parse result.</param>
    public IDisposable ApplyThreads(ParseResult result)
    {
        int previous = torch.get_num_threads();
        if (result.GetValue(Threads) is { } threads) torch.set_num_threads(threads);
        return new RestoreThreads(previous);
    }

    /// <summary>Adds the options that say how a model file is read (normalization, dilation, weights, orders).</summary>
    /// <param name="command">The command.</param>
    public void AddModelFileOptions(Command command) => Add(command, Normalization, MaxDilation, EmaWeights, OrderVariants);

    private sealed class RestoreThreads(int previous) : IDisposable
    {
        public void Dispose() => torch.set_num_threads(previous);
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
        MaxDilation = result.GetValue(MaxDilation) ?? new PixelCnnConfig().MaxDilation,
        Bits = DataExtras.BitsFor(result, kind),
        Likelihood = LikelihoodOf(kind, channels),
    };

    /// <summary>
    /// The configuration of the model named by --model for a data set and image size, from the same size options
    /// (--filters, --blocks, --mixtures, --dropout) for either model.
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="model">Which model.</param>
    /// <param name="kind">The data set.</param>
    /// <param name="channels">Image channels.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public IImageModelConfig ConfigFor(ParseResult result, ModelDefinition model, DatasetKind kind, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.ConfigurationType == typeof(PixelCnnConfig)) return ConfigFor(result, kind, channels, height, width);
        if (Given(result, MaxDilation))
            throw new InputError($"--max-dilation: a {model.Name} model has no dilated convolutions (it halves and doubles its images); leave --max-dilation out.");
        var config = new PixelCnnPlusPlusConfig
        {
            ImageChannels = channels,
            Height = height,
            Width = width,
            Filters = result.GetValue(Filters),
            ResidualBlocks = result.GetValue(Blocks),
            MixtureComponents = result.GetValue(Mixtures),
            Dropout = result.GetValue(Dropout),
            Bits = DataExtras.BitsFor(result, kind),
            Likelihood = LikelihoodOf(kind, channels),
        };
        if (height % 4 != 0 || width % 4 != 0)
            throw new InputError(
                $"--model {model.Name}: the images are {height}x{width}; PixelCNN++ halves them twice and doubles them back, so their height and width "
                + "must be multiples of 4 (for a folder of images use --size, e.g. --size 28x28).");
        return config;
    }

    private static LikelihoodKind LikelihoodOf(DatasetKind kind, int channels) => kind switch
    {
        DatasetKind.BinarizedMnist => LikelihoodKind.Binary,
        DatasetKind.Mnist or DatasetKind.FashionMnist => LikelihoodKind.GreyLogisticMixture,
        DatasetKind.Images when channels == 1 => LikelihoodKind.GreyLogisticMixture,
        _ => LikelihoodKind.RgbLogisticMixture,
    };

    /// <summary>
    /// The orders of a new model: the --order/--orders variants for lmconv; for pixelcnn++ its raster order, and --order or
    /// --orders given with another meaning than raster is an error.
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="model">Which model.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    public IReadOnlyList<GenerationOrder> OrdersFor(ParseResult result, ModelDefinition model, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.TakesAnyOrder)
            return OrderNames.Variants(result.GetValue(Order)!, height, width, result.GetValue(Orders));
        CheckRasterOnly(result, model.Kind);
        return new[] { GenerationOrders.Raster(height, width) };
    }

    /// <summary>Refuses --order and --orders for a raster-only model unless they mean its raster order.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="model">The model's kind.</param>
    public void CheckRasterOnly(ParseResult result, ModelKind model)
    {
        if (ModelCatalog.Get(model).TakesAnyOrder) return;
        string order = result.GetValue(Order)!;
        if (Given(result, Order) && order is not ("raster" or "raster_scan"))
            throw new InputError($"--order {order}: a {NameOf(model)} model generates in raster order only; leave --order out (or give --order raster).");
        int count = result.GetValue(Orders);
        if (Given(result, Orders) && count != 1)
            throw new InputError($"--orders {count}: a {NameOf(model)} model has one order (raster); leave --orders out (or give --orders 1).");
    }

    /// <summary>Whether the user typed <paramref name="option"/> (rather than leaving its default).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="option">The option.</param>
    public static bool Given(ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };
}
