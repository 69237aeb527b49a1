using System.Collections;
using System.Globalization;
using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// The command-line arguments that the authors' <c>main.py</c> stores in its checkpoints (<c>args</c>, the plain dict of
/// <c>vars(args)</c>), read for what changes the network and its orders. Names and defaults are those of their parser.
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

    public required FeatureNormalization Normalization { get; init; }
    public required bool LearnWeightForMasks { get; init; }
    public required bool NoBias { get; init; }
    public required int KernelSize { get; init; }
    public required int MaxDilation { get; init; }
    public required int Filters { get; init; }
    public required int ResidualBlocks { get; init; }
    public required int Mixtures { get; init; }
    public required int Bits { get; init; }
    public required bool Binarize { get; init; }
    public required string Dataset { get; init; }
    public required int CelebASize { get; init; }
    public required IReadOnlyList<string> Orders { get; init; }
    public required bool RandomizeOrder { get; init; }
    public required IReadOnlyList<int>? OrderVariants { get; init; }
    public required double Dropout { get; init; }
    public required bool BaseOrderTranspose { get; init; }
    public required bool BaseOrderReflectRows { get; init; }
    public required bool BaseOrderReflectColumns { get; init; }
    public required bool Ours { get; init; }

    /// <summary>Reads the arguments dict; a value of the wrong kind or an unknown name is an error naming the argument.</summary>
    /// <param name="args">The unpickled <c>args</c> entry.</param>
    /// <param name="source">The file, for messages.</param>
    /// <exception cref="CheckpointException">An argument holds a value their parser could not have produced.</exception>
    public static ReferenceArguments Parse(IDictionary args, string source)
    {
        string Name(string key) => $"{source}: args['{key}']";
        object? Get(string key) => args.Contains(key) ? args[key] : null;
        int Int(string key, int fallback)
        {
            var value = Get(key);
            if (value is null) return fallback;
            try
            {
                return value is bool ? throw new FormatException() : Convert.ToInt32(value, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
            {
                throw new CheckpointException($"{Name(key)} is {Describe(value)}, expected an integer.");
            }
        }
        double Double(string key, double fallback)
        {
            var value = Get(key);
            if (value is null) return fallback;
            try
            {
                return value is bool ? throw new FormatException() : Convert.ToDouble(value, CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
            {
                throw new CheckpointException($"{Name(key)} is {Describe(value)}, expected a number.");
            }
        }
        bool Bool(string key) => Get(key) switch
        {
            null => false,
            bool b => b,
            var other => throw new CheckpointException($"{Name(key)} is {Describe(other)}, expected true or false."),
        };
        string Text(string key, string fallback) => Get(key) switch
        {
            null => fallback,
            string s => s,
            var other => throw new CheckpointException($"{Name(key)} is {Describe(other)}, expected a string."),
        };
        IReadOnlyList<T>? List<T>(string key, Func<object?, T> item) => Get(key) switch
        {
            null => null,
            string s => new[] { item(s) },
            IEnumerable e => e.Cast<object?>().Select(item).ToArray(),
            var other => new[] { item(other) },
        };

        string normalizationName = Text("normalization", "weight_norm");
        if (!Normalizations.TryGetValue(normalizationName, out var normalization))
            throw new CheckpointException(
                $"{Name("normalization")} is '{normalizationName}', which neither the reference code nor this library knows; expected one of {string.Join(", ", Normalizations.Keys)}.");
        var orders = List("order", o => o as string ?? throw new CheckpointException($"{Name("order")} holds {Describe(o)}, expected order names."))
            ?? Array.Empty<string>();
        foreach (var order in orders)
            if (!ReferenceOrders.Names.Contains(order))
                throw new CheckpointException(
                    $"{Name("order")} names the order '{order}', which neither the reference code nor this library knows; expected {string.Join(", ", ReferenceOrders.Names)}.");
        var variants = List("order_variants", v => v is null or bool ? throw new CheckpointException($"{Name("order_variants")} holds {Describe(v)}, expected indices.")
            : Convert.ToInt32(v, CultureInfo.InvariantCulture));
        return new ReferenceArguments
        {
            Normalization = normalization,
            LearnWeightForMasks = Bool("learn_weight_for_masks"),
            NoBias = Bool("no_bias"),
            KernelSize = Int("kernel_size", 5),
            MaxDilation = Int("max_dilation", 2),
            Filters = Int("nr_filters", 160),
            ResidualBlocks = Int("nr_resnet", 5),
            Mixtures = Int("nr_logistic_mix", 10),
            Bits = Int("n_bits", 8),
            Binarize = Bool("binarize"),
            Dataset = Text("dataset", "cifar"),
            CelebASize = Int("celeba_size", 256),
            Orders = orders,
            RandomizeOrder = Bool("randomize_order"),
            OrderVariants = variants,
            Dropout = Double("dropout_prob", 0.5),
            BaseOrderTranspose = Bool("base_order_transpose"),
            BaseOrderReflectRows = Bool("base_order_reflect_rows"),
            BaseOrderReflectColumns = Bool("base_order_reflect_cols"),
            Ours = Bool("ours"),
        };
    }

    /// <summary>
    /// The configuration the arguments describe, as their <c>main.py</c> builds the model: the data set fixes the image
    /// shape (MNIST 1x28x28, CIFAR 3x32x32, CelebA-HQ 3 x celeba_size^2) and, with <c>binarize</c>, the head. Dropout is
    /// kept below 1 (it only acts in training).
    /// </summary>
    /// <param name="source">The file, for messages.</param>
    public PixelCnnConfig ToConfig(string source)
    {
        var (channels, size) = Dataset switch
        {
            var d when d.Contains("mnist", StringComparison.Ordinal) => (1, 28),
            var d when d.Contains("cifar", StringComparison.Ordinal) => (3, 32),
            var d when d.Contains("celebahq", StringComparison.Ordinal) => (3, CelebASize),
            var d => throw new CheckpointException($"{source}: args['dataset'] is '{d}'; the reference code knows mnist, cifar and celebahq."),
        };
        var likelihood = channels == 1
            ? Binarize ? LikelihoodKind.Binary : LikelihoodKind.GreyLogisticMixture
            : LikelihoodKind.RgbLogisticMixture;
        return new PixelCnnConfig
        {
            ImageChannels = channels,
            Height = size,
            Width = size,
            Filters = Filters,
            ResidualBlocks = ResidualBlocks,
            KernelSize = KernelSize,
            MaxDilation = MaxDilation,
            Dropout = Math.Clamp(Dropout, 0, 0.99),
            Normalization = Normalization,
            Likelihood = likelihood,
            MixtureComponents = Mixtures,
            Bits = Bits,
            ConvolutionBias = !NoBias,
            LearnWeightForMasks = LearnWeightForMasks,
        };
    }

    /// <summary>
    /// The orders the model was trained with, built as their <c>main.py</c> builds them: each named base order, transformed
    /// by the <c>base_order_*</c> flags (transpose first, then reflections), expanded to its 8 variants with
    /// <c>randomize_order</c>, then narrowed to <c>order_variants</c> when given.
    /// </summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="source">The file, for messages.</param>
    public IReadOnlyList<GenerationOrder> BuildOrders(int height, int width, string source)
    {
        if (Orders.Count == 0) throw new CheckpointException($"{source}: args['order'] names no order.");
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

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        IEnumerable e => $"[{string.Join(", ", e.Cast<object?>().Select(Describe))}]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? value.GetType().Name,
    };
}
