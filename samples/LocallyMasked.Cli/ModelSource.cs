using System.CommandLine;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Cli;

/// <summary>
/// Loads the model a command works with: a training checkpoint of this program (configuration and orders stored in
/// it), or a PyTorch <c>.pth</c> / TorchSharp weights file such as the authors' published checkpoints (configuration
/// inferred from the tensor shapes; explicitly given size options override it).
/// </summary>
public static class ModelSource
{
    /// <summary>A loaded model with what is known about it.</summary>
    /// <param name="Model">The model, in eval mode.</param>
    /// <param name="Kind">The data set it models.</param>
    /// <param name="Orders">The orders to use.</param>
    public sealed record Loaded(LocallyMaskedPixelCnn Model, DatasetKind Kind, IReadOnlyList<GenerationOrder> Orders);

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
            loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Device = device, Template = template });
            var config = loaded.Model.Config;
            Console.WriteLine(loaded.Metadata is { } metadata
                ? $"model: {path} (step {metadata.Step}, {config.Filters} filters, {config.ResidualBlocks} blocks, {config.Likelihood})"
                : $"model: {path} (inferred: {config.Filters} filters, {config.ResidualBlocks} blocks, {config.Likelihood}, {config.MixtureComponents} mixtures)");
        }

        var model = loaded.Model;
        // A weight file's likelihood head fixes its data; a training checkpoint's data can be overridden with --dataset.
        var kind = loaded.Format == CheckpointFormat.Training && CommonOptions.Given(result, common.Dataset) ? datasetKind : KindOf(model.Config);
        if (kind == DatasetKind.Mnist && datasetKind == DatasetKind.FashionMnist) kind = DatasetKind.FashionMnist;   // same model, other files
        var orders = orderGiven || loaded.Orders is null ? OrdersFromOptions(result, common, model.Config) : loaded.Orders;
        return new Loaded(model, kind, orders);
    }

    private static IReadOnlyList<GenerationOrder> OrdersFromOptions(ParseResult result, CommonOptions common, PixelCnnConfig config) =>
        OrderNames.Variants(result.GetValue(common.Order)!, config.Height, config.Width, result.GetValue(common.Orders));

    private static DatasetKind KindOf(PixelCnnConfig config) => config.Likelihood switch
    {
        LikelihoodKind.Binary => DatasetKind.BinarizedMnist,
        LikelihoodKind.GreyLogisticMixture => DatasetKind.Mnist,
        _ => DatasetKind.Cifar10,
    };
}
