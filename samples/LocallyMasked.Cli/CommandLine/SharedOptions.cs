using System.CommandLine;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Sampling;
using TorchSharp;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// Options that several commands share, with their accepted values, and how they become the typed settings the
/// commands run with (each command adds only the options it uses, so that its --help lists only those).
/// </summary>
public sealed class SharedOptions
{
    /// <summary>--device cpu|cuda.</summary>
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda.", DefaultValueFactory = _ => "cpu" };

    /// <summary>--threads: libtorch's CPU threads.</summary>
    public Option<int?> Threads { get; } = new("--threads") { Description = "libtorch CPU threads (default: the machine's cores). Results are reproducible for a fixed thread count." };

    /// <summary>--precision: the precision of the model's products (convolutions, 1x1 layers).</summary>
    public Option<string> Precision { get; } = new("--precision")
    {
        Description = "Precision of the model's products: 32 (float32) or bf16-mixed (convolutions and 1x1 layers in bfloat16, weights, "
            + "gradients, optimizer state and likelihoods in float32; fast on CPUs with AVX-512 BF16 or AMX and on GPUs since Ampere). "
            + "train: default 32, or the stored precision with --resume; evaluate, score, sample, complete: default 32.",
        DefaultValueFactory = _ => ComputePrecision.Float32.Name,
    };

    /// <summary>--data, --dataset and the other data options.</summary>
    public DataOptions Data { get; } = new();

    /// <summary>--output folder.</summary>
    public Option<string> Output { get; } = new("--output", "-o") { Description = "Output folder.", DefaultValueFactory = _ => "out" };

    /// <summary>--seed: everything a run draws (weights, data order, binarization, orders, dropout, samples) follows it.</summary>
    public Option<ulong> Seed { get; } = new("--seed") { Description = "Random seed: the same command with the same seed gives the same result (on the same machine, with the same --threads).", DefaultValueFactory = _ => TrainingDefaults.Seed };

    /// <summary>--force: replace files of an earlier run that sample and complete would write.</summary>
    public Option<bool> Force { get; } = new("--force")
    {
        Description = "Replace the files of an earlier run in --output (without it, a file this run would write that is already there stops the run before any work).",
    };

    /// <summary>--order: the base order's name.</summary>
    public Option<string> Order { get; } = new("--order") { Description = OrderNames.Description, DefaultValueFactory = _ => OrderChoice.DefaultName };

    /// <summary>--orders: how many symmetric variants of the base order.</summary>
    public Option<int> Orders { get; } = new("--orders") { Description = "How many of the base order's 8 symmetric variants (1-8).", DefaultValueFactory = _ => OrderChoice.MaxCount };

    /// <summary>--model: which model train builds.</summary>
    public Option<string> Model { get; } = new("--model")
    {
        Description = "lmconv (the locally masked PixelCNN++, any order) or pixelcnn++ (the PixelCNN++ baseline, raster order only). "
            + "--filters, --blocks, --mixtures and --dropout size either.",
        DefaultValueFactory = _ => ModelCatalog.Get(ModelKind.LocallyMaskedPixelCnn).Name,
    };

    /// <summary>--filters.</summary>
    public Option<int> Filters { get; } = new("--filters") { Description = "Feature channels per layer.", DefaultValueFactory = _ => TrainingDefaults.Filters };

    /// <summary>--blocks.</summary>
    public Option<int> Blocks { get; } = new("--blocks") { Description = "Residual blocks per stage.", DefaultValueFactory = _ => TrainingDefaults.Blocks };

    /// <summary>--mixtures.</summary>
    public Option<int> Mixtures { get; } = new("--mixtures") { Description = "Logistic mixture components (grey and RGB data).", DefaultValueFactory = _ => TrainingDefaults.Mixtures };

    /// <summary>--dropout.</summary>
    public Option<double> Dropout { get; } = new("--dropout") { Description = "Channel dropout in the residual blocks while training.", DefaultValueFactory = _ => TrainingDefaults.Dropout };

    /// <summary>--sampler: how images are generated (the cached sampler is exact and far faster).</summary>
    public Option<string> Sampler { get; } = new("--sampler") { Description = "cached (one network evaluation per pixel location) or naive (one full pass per pixel).", DefaultValueFactory = _ => "cached" };

    /// <summary>--normalization: what a model file does not record, or an override of what it records.</summary>
    public Option<string?> Normalization { get; } = new("--normalization")
    {
        Description = "Feature normalization of a model loaded from a file, as the authors name it: pono, weight_norm, none or order_rescale. "
            + "Needed only for weight files that do not record it (then pono, the published models', is assumed and said); otherwise an override.",
    };

    /// <summary>--max-dilation: the dilation of the resampling convolutions (of a new model, or of a model loaded from a file).</summary>
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

    /// <summary>Creates the options with their accepted values.</summary>
    public SharedOptions()
    {
        Device.AcceptOnlyFromAmong("cpu", "cuda");
        Precision.AcceptOnlyFromAmong(ComputePrecision.All.Select(p => p.Name).ToArray());
        Sampler.AcceptOnlyFromAmong("cached", "naive");
        Model.AcceptOnlyFromAmong(ModelCatalog.Names.ToArray());
        Order.AcceptOnlyFromAmong(OrderNames.All.ToArray());
        Normalization.AcceptOnlyFromAmong(NormalizationNames.All.Keys.ToArray());
        MaxDilation.Accepting(v => v is null or >= 1, "a dilation of at least 1");
        Orders.Between(1, OrderChoice.MaxCount);
        Filters.AtLeast(1, "a number of filters");
        Blocks.AtLeast(1, "a number of blocks");
        Mixtures.AtLeast(1, "a number of mixture components");
        Dropout.Finite(v => v >= 0 && v < 1, "a dropout probability in [0, 1)");
        Threads.Accepting(v => v is null or (>= 1 and <= DeviceSettings.MaxThreads), $"a number of threads from 1 to {DeviceSettings.MaxThreads}");
    }

    /// <summary>Adds options to a command.</summary>
    /// <param name="command">The command.</param>
    /// <param name="options">The options.</param>
    public static void Add(Command command, params Option[] options)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in options) command.Options.Add(option);
    }

    /// <summary>Adds --device, --threads and --precision.</summary>
    /// <param name="command">The command.</param>
    public void AddDeviceOptions(Command command) => Add(command, Device, Threads, Precision);

    /// <summary>Adds --order and --orders.</summary>
    /// <param name="command">The command.</param>
    public void AddOrderOptions(Command command) => Add(command, Order, Orders);

    /// <summary>Adds --sampler and --seed.</summary>
    /// <param name="command">The command.</param>
    public void AddSamplingOptions(Command command) => Add(command, Sampler, Seed);

    /// <summary>Adds the options that say how a model file is read (normalization, dilation, weights, orders).</summary>
    /// <param name="command">The command.</param>
    public void AddModelFileOptions(Command command) => Add(command, Normalization, MaxDilation, EmaWeights, OrderVariants);

    /// <summary>--device, --threads and --precision (null when not typed).</summary>
    /// <param name="result">The parse result.</param>
    public DeviceSettings DeviceOf(ParseResult result) =>
        new(result.GetValue(Device) == "cuda" ? DeviceType.CUDA : DeviceType.CPU, result.GetValue(Threads),
            result.Given(Precision) ? ComputePrecision.Parse(result.GetValue(Precision)!) : null);

    /// <summary>--order and --orders.</summary>
    /// <param name="result">The parse result.</param>
    public OrderChoice OrdersOf(ParseResult result) =>
        new(result.GetValue(Order)!, result.GetValue(Orders), result.Given(Order), result.Given(Orders));

    /// <summary>--sampler.</summary>
    /// <param name="result">The parse result.</param>
    public SamplerChoice SamplerOf(ParseResult result) =>
        new(result.GetValue(Sampler) == "naive" ? SamplerKind.Naive : SamplerKind.Cached, result.Given(Sampler));

    /// <summary>The data options with --seed.</summary>
    /// <param name="result">The parse result.</param>
    public DataSettings DataOf(ParseResult result) => Data.Bind(result, result.GetValue(Seed));

    /// <summary>The model a command reads: --checkpoint (and --average) with the options that say how.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="checkpoint">The --checkpoint value.</param>
    /// <param name="average">The --average values, or none.</param>
    /// <exception cref="InputError">--ema-weights with --average, or an --order-variants index given twice.</exception>
    public ModelFileSettings ModelFileOf(ParseResult result, string checkpoint, IReadOnlyList<string>? average = null)
    {
        bool ema = result.GetValue(EmaWeights);
        if (ema && average is { Count: > 0 })
            throw new InputError("--ema-weights with --average: the mean of several checkpoints uses their trained weights; drop one of the two options.");
        return new ModelFileSettings
        {
            Checkpoint = checkpoint,
            Average = average ?? Array.Empty<string>(),
            Normalization = result.GetValue(Normalization) is { } name ? NormalizationNames.All[name] : null,
            MaxDilation = result.GetValue(MaxDilation),
            EmaWeights = ema,
            OrderVariants = result.GetValue(OrderVariants) ?? Array.Empty<int>(),
        };
    }

    /// <summary>The model train builds: --model, --filters, --blocks, --mixtures, --dropout, --max-dilation and --bits.</summary>
    /// <param name="result">The parse result.</param>
    /// <exception cref="InputError">--max-dilation for a model without dilated convolutions, or --bits out of range.</exception>
    public NewModelSettings NewModelOf(ParseResult result)
    {
        var definition = ModelCatalog.Named(result.GetValue(Model)!);
        if (definition.ConfigurationType != typeof(PixelCnnConfig) && result.Given(MaxDilation))
            throw new InputError($"--max-dilation: a {definition.Name} model has no dilated convolutions (it halves and doubles its images); leave --max-dilation out.");
        return new NewModelSettings
        {
            Definition = definition,
            DefinitionGiven = result.Given(Model),
            Filters = result.GetValue(Filters),
            Blocks = result.GetValue(Blocks),
            Mixtures = result.GetValue(Mixtures),
            Dropout = result.GetValue(Dropout),
            MaxDilation = result.GetValue(MaxDilation),
            Bits = Data.BitsOf(result),
        };
    }
}
