using System.CommandLine;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>
/// Loads the model a command works with through the library's one loader: a training checkpoint of this program
/// (model type, configuration and orders stored in it), a checkpoint of the authors' main.py (configuration and orders from
/// its args; a baseline run without --ours gives a pixelcnn++ model), or another PyTorch <c>.pth</c> / TorchSharp weights
/// file (configuration from the tensor shapes and --dataset; the baseline's keys give a pixelcnn++ model).
/// Every setting the file does not decide is printed as assumed, with the option that changes it; every option that
/// changes what the file records is printed as an override.
/// </summary>
public static class ModelSource
{
    /// <summary>A loaded model with what is known about it.</summary>
    /// <param name="Model">The model (lmconv or pixelcnn++), in eval mode.</param>
    /// <param name="Kind">The data set it models.</param>
    /// <param name="Orders">The orders to use (for pixelcnn++ its raster order).</param>
    public sealed record Loaded(IAutoregressiveImageModel Model, DatasetKind Kind, IReadOnlyList<GenerationOrder> Orders);

    /// <summary>Loads the --checkpoint of a command.</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="common">The shared options.</param>
    /// <param name="path">The checkpoint path.</param>
    /// <param name="average">More training checkpoints of the same model whose weights are averaged with <paramref name="path"/>'s.</param>
    public static Loaded Load(ParseResult result, CommonOptions common, string path, IReadOnlyList<string>? average = null)
    {
        var device = common.DeviceOf(result);
        bool orderGiven = CommonOptions.Given(result, common.Order) || CommonOptions.Given(result, common.Orders);
        var datasetKind = DataSources.Parse(result.GetValue(common.Dataset)!);
        LoadedModel loaded;
        if (average is { Count: > 0 })
        {
            var paths = new[] { path }.Concat(average).ToArray();
            foreach (var p in paths)
                if (!File.Exists(p) || PixelCnnCheckpoint.DetectFormat(p) != CheckpointFormat.Training)
                    throw new ArgumentException($"{p}: --average needs training checkpoints of this program.");
            if (result.GetValue(common.EmaWeights))
                throw new ArgumentException("--ema-weights with --average: the mean of several checkpoints uses their trained weights; drop one of the two options.");
            loaded = PixelCnnCheckpoint.LoadAverage(paths, new ModelLoadOptions { Device = device });
            Console.WriteLine($"model: mean of the weights of {paths.Length} checkpoints ({string.Join(", ", paths)})");
        }
        else
        {
            var template = datasetKind switch
            {
                DatasetKind.BinarizedMnist => PixelCnnConfig.BinarizedMnist,
                DatasetKind.Mnist or DatasetKind.FashionMnist => PixelCnnConfig.GreyMnist,
                _ => PixelCnnConfig.Cifar10,
            };
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found (--checkpoint).", path);
            string? normalizationName = result.GetValue(common.Normalization);
            int? dilation = result.GetValue(common.MaxDilation);
            if (dilation is < 1) throw new ArgumentException($"--max-dilation {dilation}: expected a dilation of at least 1.");
            loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions
            {
                Device = device,
                Template = template,
                MovingAverageWeights = result.GetValue(common.EmaWeights),
                Normalization = normalizationName is null ? null : CommonOptions.NormalizationNames[normalizationName],
                MaxDilation = dilation,
            });
            var loadedConfig = loaded.Model.Configuration;
            string name = CommonOptions.NameOf(loaded.Kind);
            Console.WriteLine(loaded.Metadata is { } metadata
                ? $"model: {path} ({name}, step {metadata.Step}, {loadedConfig.Filters} filters, {loadedConfig.ResidualBlocks} blocks, {loadedConfig.Likelihood})"
                : $"model: {path} ({name}, inferred: {loadedConfig.Filters} filters, {loadedConfig.ResidualBlocks} blocks, {loadedConfig.Likelihood}, {loadedConfig.MixtureComponents} mixtures)");
        }

        PrintNotes(loaded, path);
        var model = loaded.Model;
        var config = model.Configuration;
        try
        {
            // A weight file's likelihood head fixes its data; a training checkpoint's data can be overridden with --dataset.
            var kind = loaded.Format == CheckpointFormat.Training && CommonOptions.Given(result, common.Dataset) ? datasetKind : KindOf(config);
            if (kind == DatasetKind.Mnist && datasetKind == DatasetKind.FashionMnist) kind = DatasetKind.FashionMnist;   // same model, other files
            IReadOnlyList<GenerationOrder> orders;
            if (model.SupportedOrders is { } only)
            {
                // pixelcnn++: its raster order; --order/--orders only when they mean it.
                common.CheckRasterOnly(result, model.Kind);
                orders = only;
            }
            else orders = orderGiven || loaded.Orders is null ? OrdersFromOptions(result, common, config) : loaded.Orders;
            return new Loaded(model, kind, SelectVariants(orders, result.GetValue(common.OrderVariants)));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The orders chosen by --order-variants (indices into the model's orders, each at most once), or all.</summary>
    /// <param name="orders">The model's orders.</param>
    /// <param name="indices">The indices given, or null / empty for all.</param>
    public static IReadOnlyList<GenerationOrder> SelectVariants(IReadOnlyList<GenerationOrder> orders, int[]? indices)
    {
        if (indices is null || indices.Length == 0) return orders;
        var bad = indices.Where(i => i < 0 || i >= orders.Count).ToArray();
        if (bad.Length > 0)
            throw new ArgumentException($"--order-variants {string.Join(" ", indices)}: the model has orders 0..{orders.Count - 1}; {string.Join(", ", bad)} is out of range.");
        var repeated = indices.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (repeated.Length > 0)
            throw new ArgumentException($"--order-variants {string.Join(" ", indices)}: {string.Join(", ", repeated)} is given more than once; name each order once.");
        return indices.Select(i => orders[i]).ToArray();
    }

    /// <summary>One line for the assumed settings and one per override, naming the option that changes each.</summary>
    private static void PrintNotes(LoadedModel loaded, string path)
    {
        string Option(string setting) => setting switch
        {
            nameof(PixelCnnConfig.Normalization) => "--normalization",
            nameof(PixelCnnConfig.MaxDilation) => "--max-dilation",
            _ => setting,
        };
        string Value(ConfigurationNote note, string value) => note.Setting == nameof(PixelCnnConfig.Normalization)
            ? CommonOptions.NormalizationNames.First(kv => kv.Value.ToString() == value).Key
            : value;
        var assumed = loaded.Notes.Where(n => !n.IsOverride).ToArray();
        if (assumed.Length > 0)
            Console.WriteLine($"assumed (not recorded in {Path.GetFileName(path)}; the published models' settings): " +
                string.Join(", ", assumed.Select(n => $"{Option(n.Setting)} {Value(n, n.Value)}")) + "; give the option if the model was trained otherwise");
        foreach (var note in loaded.Notes.Where(n => n.IsOverride))
            Console.WriteLine($"override: {Option(note.Setting)} {Value(note, note.Value)} instead of the file's {Value(note, note.FileValue!)}");
        if (loaded.UsedAverage) Console.WriteLine("weights: the moving average of the weights (--ema-weights)");
    }

    private static IReadOnlyList<GenerationOrder> OrdersFromOptions(ParseResult result, CommonOptions common, IImageModelConfig config) =>
        OrderNames.Variants(result.GetValue(common.Order)!, config.Height, config.Width, result.GetValue(common.Orders));

    private static DatasetKind KindOf(IImageModelConfig config) => config.Likelihood switch
    {
        LikelihoodKind.Binary => DatasetKind.BinarizedMnist,
        LikelihoodKind.GreyLogisticMixture => DatasetKind.Mnist,
        _ => DatasetKind.Cifar10,
    };
}
