using System.Collections;
using System.Globalization;
using LocallyMasked.Checkpoints.Pickles;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The command-line arguments that the authors' <c>main.py</c> stores in its checkpoints (<c>args</c>, the plain dict of
/// <c>vars(args)</c>, or an <c>argparse.Namespace</c> in older files), read for what changes the network and its orders.
/// A setting the file does not hold is null: it is then decided by the tensors or reported as assumed, never taken from
/// a parser default in silence.
/// </summary>
internal sealed record ReferenceArguments
{
    /// <summary>The normalization names of their <c>--normalization</c>, as this library's values.</summary>
    private static readonly IReadOnlyDictionary<string, FeatureNormalization> Normalizations = new Dictionary<string, FeatureNormalization>(StringComparer.Ordinal)
    {
        ["pono"] = FeatureNormalization.Pono,
        ["weight_norm"] = FeatureNormalization.WeightNorm,
        ["none"] = FeatureNormalization.None,
        ["order_rescale"] = FeatureNormalization.OrderRescale,
    };

    public required FeatureNormalization? Normalization { get; init; }
    public required bool? LearnWeightForMasks { get; init; }
    public required bool? NoBias { get; init; }
    public required int? KernelSize { get; init; }
    public required int? MaxDilation { get; init; }
    public required int? Filters { get; init; }
    public required int? ResidualBlocks { get; init; }
    public required int? Mixtures { get; init; }
    public required int? Bits { get; init; }
    public required bool? Binarize { get; init; }
    public required string? Dataset { get; init; }
    public required int? CelebASize { get; init; }
    public required IReadOnlyList<int>? ResizeSizes { get; init; }
    public required IReadOnlyList<string>? Orders { get; init; }
    public required bool RandomizeOrder { get; init; }
    public required IReadOnlyList<int>? OrderVariants { get; init; }
    public required double? Dropout { get; init; }
    public required bool BaseOrderTranspose { get; init; }
    public required bool BaseOrderReflectRows { get; init; }
    public required bool BaseOrderReflectColumns { get; init; }
    public required bool? Ours { get; init; }

    /// <summary>Reads the arguments dict; a value of the wrong kind or an unknown name is an error naming the argument.</summary>
    /// <param name="args">The unpickled <c>args</c> entry.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="CheckpointException">An argument holds a value their parser could not have produced.</exception>
    public static ReferenceArguments Parse(IDictionary args, string source)
    {
        string Name(string key) => $"{source}: args['{key}']";
        object? Get(string key) => args.Contains(key) ? args[key] : null;
        // Every conversion of a value refuses it in one line, however it is made (a list that holds itself, a huge integer).
        int ToInt(string key, object? value, string expected) => value switch
        {
            long l and >= int.MinValue and <= int.MaxValue => (int)l,
            _ => throw new CheckpointException($"{Name(key)} {(value is IEnumerable and not string and not IDictionary ? "holds" : "is")} {Describe(value)}, expected {expected}."),
        };
        int? Int(string key) => Get(key) is { } value ? ToInt(key, value, "an integer") : null;
        double? Double(string key) => Get(key) switch
        {
            null => null,
            long l => l,
            double d => d,
            var other => throw new CheckpointException($"{Name(key)} is {Describe(other)}, expected a number."),
        };
        bool? Bool(string key) => Get(key) switch
        {
            null => null,
            bool b => b,
            var other => throw new CheckpointException($"{Name(key)} is {Describe(other)}, expected true or false."),
        };
        string? Text(string key) => Get(key) switch
        {
            null => null,
            string s => s,
            var other => throw new CheckpointException($"{Name(key)} is {Describe(other)}, expected a string."),
        };
        IReadOnlyList<T>? List<T>(string key, Func<object?, T> item) => Get(key) switch
        {
            null => null,
            string s => new[] { item(s) },
            IEnumerable e and not IDictionary => e.Cast<object?>().Select(item).ToArray(),
            var other => new[] { item(other) },
        };
        int Size(string key, object? value)
        {
            int size = ToInt(key, value, "positive sizes");
            return size >= 1 ? size : throw new CheckpointException($"{Name(key)} holds {size}, expected positive sizes.");
        }

        string? normalizationName = Text("normalization");
        FeatureNormalization? normalization = null;
        if (normalizationName is not null)
        {
            if (!Normalizations.TryGetValue(normalizationName, out var known))
                throw new CheckpointException(
                    $"{Name("normalization")} is {Describe(normalizationName)}, which neither the reference code nor this library knows; expected one of {string.Join(", ", Normalizations.Keys)}.");
            normalization = known;
        }
        var orders = List("order", o => o as string ?? throw new CheckpointException($"{Name("order")} holds {Describe(o)}, expected order names."));
        foreach (var order in orders ?? Array.Empty<string>())
            if (!ReferenceOrders.Names.Contains(order))
                throw new CheckpointException(
                    $"{Name("order")} names the order {Describe(order)}, which neither the reference code nor this library knows; expected {string.Join(", ", ReferenceOrders.Names)}.");
        var variants = List("order_variants", v => ToInt("order_variants", v, "indices"));
        return new ReferenceArguments
        {
            Normalization = normalization,
            LearnWeightForMasks = Bool("learn_weight_for_masks"),
            NoBias = Bool("no_bias"),
            KernelSize = Int("kernel_size"),
            MaxDilation = Int("max_dilation"),
            Filters = Int("nr_filters"),
            ResidualBlocks = Int("nr_resnet"),
            Mixtures = Int("nr_logistic_mix"),
            Bits = Int("n_bits"),
            Binarize = Bool("binarize"),
            Dataset = Text("dataset"),
            CelebASize = Get("celeba_size") is { } celebASize ? Size("celeba_size", celebASize) : null,
            ResizeSizes = List("resize_sizes", v => Size("resize_sizes", v)),
            Orders = orders,
            RandomizeOrder = Bool("randomize_order") ?? false,
            OrderVariants = variants,
            Dropout = Double("dropout_prob"),
            BaseOrderTranspose = Bool("base_order_transpose") ?? false,
            BaseOrderReflectRows = Bool("base_order_reflect_rows") ?? false,
            BaseOrderReflectColumns = Bool("base_order_reflect_cols") ?? false,
            Ours = Bool("ours"),
        };
    }

    /// <summary>
    /// The configuration the arguments describe, as their <c>main.py</c> builds the model, starting from what the tensor
    /// shapes decide: each recorded argument sets its setting (the data set fixes the image shape — MNIST 1x28x28, CIFAR
    /// 3x32x32, CelebA-HQ 3 x celeba_size^2, or <c>resize_sizes</c> — and, with <c>binarize</c>, the head), and every
    /// recorded argument that the
    /// shapes also decide must agree with them. Normalization and dilation that the file does not record are noted as
    /// assumed. Dropout is kept below 1 (it only acts in training).
    /// </summary>
    /// <param name="shapes">The configuration inferred from the tensors (with the template's undecidable settings).</param>
    /// <param name="notes">Receives the assumed settings.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="CheckpointException">The arguments contradict the tensors; the message lists every disagreement.</exception>
    public PixelCnnConfig Configure(PixelCnnConfig shapes, List<ConfigurationNote> notes, string source)
    {
        var disagreements = new List<string>();
        void Agree<T>(string what, T? recorded, T fromTensors) where T : struct
        {
            if (recorded is { } value && !EqualityComparer<T>.Default.Equals(value, fromTensors))
                disagreements.Add($"{what}: args say {value}, the tensors {fromTensors}");
        }

        var config = shapes;
        if (ImageShape(source) is var (channels, size))
        {
            Agree("image channels (dataset)", (int?)channels, shapes.ImageChannels);
            config = config with { ImageChannels = channels, Height = size, Width = size };
        }
        if (Binarize is { } binarize)
        {
            var likelihood = config.ImageChannels == 3 ? LikelihoodKind.RgbLogisticMixture
                : binarize ? LikelihoodKind.Binary : LikelihoodKind.GreyLogisticMixture;
            Agree("likelihood (dataset, binarize)", (LikelihoodKind?)likelihood, shapes.Likelihood);
        }
        Agree("nr_filters", Filters, shapes.Filters);
        Agree("nr_resnet", ResidualBlocks, shapes.ResidualBlocks);
        Agree("kernel_size", KernelSize, shapes.KernelSize);
        if (shapes.Likelihood != LikelihoodKind.Binary) Agree("nr_logistic_mix", Mixtures, shapes.MixtureComponents);
        Agree("weight normalization (normalization)", Normalization is { } n ? n == FeatureNormalization.WeightNorm : (bool?)null,
            shapes.Normalization == FeatureNormalization.WeightNorm);
        Agree("bias (no_bias)", NoBias is { } noBias ? !noBias : (bool?)null, shapes.ConvolutionBias);
        Agree("mask weight (learn_weight_for_masks)", LearnWeightForMasks, shapes.LearnWeightForMasks);
        if (disagreements.Count > 0)
            throw new CheckpointException($"The args of {source} contradict its tensors: {string.Join("; ", disagreements)}.");

        if (Normalization is { } normalization) config = config with { Normalization = normalization };
        else if (config.Normalization != FeatureNormalization.WeightNorm)
            notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.Normalization), config.Normalization.ToString(), null));
        if (MaxDilation is { } dilation) config = config with { MaxDilation = dilation };
        else notes.Add(new ConfigurationNote(nameof(PixelCnnConfig.MaxDilation), config.MaxDilation.ToString(CultureInfo.InvariantCulture), null));
        if (Bits is { } bits) config = config with { Bits = bits };
        if (Dropout is { } dropout) config = config with { Dropout = Math.Clamp(dropout, 0, 0.99) };
        return config;
    }

    /// <summary>
    /// The image channels and (square) size the data set argument implies, as their <c>main.py</c> loads it: MNIST
    /// 1x28x28, CIFAR 3x32x32, CelebA-HQ 3 x celeba_size^2; with <c>resize_sizes</c> the data set's own size when it is
    /// among them, else the first. Null when the file records no data set.
    /// </summary>
    private (int Channels, int Size)? ImageShape(string source)
    {
        if (Dataset is not { } dataset) return null;
        var (channels, size) = dataset switch
        {
            var d when d.Contains("mnist", StringComparison.Ordinal) => (1, 28),
            var d when d.Contains("cifar", StringComparison.Ordinal) => (3, 32),
            var d when d.Contains("celebahq", StringComparison.Ordinal) => (3, CelebASize ?? 256),
            var d => throw new CheckpointException($"{source}: args['dataset'] is {Describe(d)}; the reference code knows mnist, cifar and celebahq."),
        };
        if (ResizeSizes is { Count: > 0 } sizes && !sizes.Contains(size)) size = sizes[0];
        return (channels, size);
    }

    /// <summary>
    /// The PixelCNN++ baseline's configuration as their <c>main.py</c> builds it without <c>--ours</c>
    /// (<c>baseline.PixelCNN(nr_resnet, nr_filters, input_channels, nr_logistic_mix)</c>), starting from what the tensor
    /// shapes decide: the data set fixes the image shape, <c>n_bits</c> the bit depth; <c>binarize</c>, <c>nr_filters</c>,
    /// <c>nr_resnet</c> and <c>nr_logistic_mix</c> must agree with the tensors. Their LMConv-only arguments
    /// (normalization, kernel size, dilation, <c>dropout_prob</c>) do not reach the baseline and are ignored: it always
    /// has dropout 0.5.
    /// </summary>
    /// <param name="shapes">The configuration inferred from the tensors.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="CheckpointException">The arguments contradict the tensors; the message lists every disagreement.</exception>
    public PixelCnnPlusPlusConfig ConfigureBaseline(PixelCnnPlusPlusConfig shapes, string source)
    {
        var disagreements = new List<string>();
        void Agree<T>(string what, T? recorded, T fromTensors) where T : struct
        {
            if (recorded is { } value && !EqualityComparer<T>.Default.Equals(value, fromTensors))
                disagreements.Add($"{what}: args say {value}, the tensors {fromTensors}");
        }

        var config = shapes;
        if (ImageShape(source) is var (channels, size))
        {
            Agree("image channels (dataset)", (int?)channels, shapes.ImageChannels);
            config = config with { Height = size, Width = size };
        }
        if (Binarize is { } binarize)
        {
            var likelihood = shapes.ImageChannels == 3 ? LikelihoodKind.RgbLogisticMixture
                : binarize ? LikelihoodKind.Binary : LikelihoodKind.GreyLogisticMixture;
            Agree("likelihood (dataset, binarize)", (LikelihoodKind?)likelihood, shapes.Likelihood);
        }
        Agree("nr_filters", Filters, shapes.Filters);
        Agree("nr_resnet", ResidualBlocks, shapes.ResidualBlocks);
        if (shapes.Likelihood != LikelihoodKind.Binary) Agree("nr_logistic_mix", Mixtures, shapes.MixtureComponents);
        if (disagreements.Count > 0)
            throw new CheckpointException($"The args of {source} contradict its tensors: {string.Join("; ", disagreements)}.");
        if (Bits is { } bits) config = config with { Bits = bits };
        return config;
    }

    /// <summary>
    /// The orders the model was trained with, built as their <c>main.py</c> builds them: each named base order, transformed
    /// by the <c>base_order_*</c> flags (transpose first, then reflections), expanded to its 8 variants with
    /// <c>randomize_order</c>, then narrowed to <c>order_variants</c> when given.
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="source">The file, for messages.</param>
    /// <returns>The orders, or null when the file records none.</returns>
    public IReadOnlyList<GenerationOrder>? BuildOrders(int height, int width, string source)
    {
        if (Orders is null || Orders.Count == 0) return null;
        var all = new List<GenerationOrder>();
        foreach (var name in Orders)
        {
            var order = ReferenceOrders.Create(name, height, width);
            if (BaseOrderTranspose) order = order.Transform(OrderSymmetry.Transpose);
            if (BaseOrderReflectRows) order = order.Transform(OrderSymmetry.ReflectRows);
            if (BaseOrderReflectColumns) order = order.Transform(OrderSymmetry.ReflectColumns);
            if (RandomizeOrder) all.AddRange(order.Variants());
            else all.Add(order);
        }
        if (OrderVariants is null || OrderVariants.Count == 0) return all;
        foreach (var index in OrderVariants)
            if (index < 0 || index >= all.Count)
                throw new CheckpointException($"{source}: args['order_variants'] selects variant {index} of {all.Count} orders.");
        return OrderVariants.Select(i => all[i]).ToArray();
    }

    /// <summary>A value of the file in words, bounded however it nests (a list that holds itself prints in a line).</summary>
    private static string Describe(object? value) => PickleText.Describe(value);
}
