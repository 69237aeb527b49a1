using System.CommandLine;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
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
        if (average is { Count: > 0 })
        {
            var paths = new[] { path }.Concat(average).ToArray();
            foreach (var p in paths)
                if (!File.Exists(p) || !CheckpointFile.IsTrainingCheckpoint(p))
                    throw new ArgumentException($"{p}: --average needs training checkpoints of this program.");
            var metadata = CheckpointFile.ReadMetadata(path);
            var mean = PixelCnnTraining.AverageCheckpoints(paths, common.DeviceOf(result));
            bool given = CommonOptions.Given(result, common.Order) || CommonOptions.Given(result, common.Orders);
            var kind = CommonOptions.Given(result, common.Dataset) ? DataSources.Parse(result.GetValue(common.Dataset)!) : KindOf(mean.Config);
            Console.WriteLine($"model: mean of the weights of {paths.Length} checkpoints ({string.Join(", ", paths)})");
            return new Loaded(mean, kind, given ? OrdersFromOptions(result, common, mean.Config) : metadata.Orders());
        }

        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: checkpoint not found.", path);
        var device = common.DeviceOf(result);
        bool orderGiven = CommonOptions.Given(result, common.Order) || CommonOptions.Given(result, common.Orders);
        if (CheckpointFile.IsTrainingCheckpoint(path))
        {
            var (model, metadata) = PixelCnnTraining.LoadModel(path, device);
            var kind = CommonOptions.Given(result, common.Dataset) ? DataSources.Parse(result.GetValue(common.Dataset)!) : KindOf(model.Config);
            var orders = orderGiven ? OrdersFromOptions(result, common, model.Config) : metadata.Orders();
            Console.WriteLine($"model: {path} (step {metadata.Step}, {model.Config.Filters} filters, {model.Config.ResidualBlocks} blocks, {model.Config.Likelihood})");
            return new Loaded(model, kind, orders);
        }

        var datasetKind = DataSources.Parse(result.GetValue(common.Dataset)!);
        var template = datasetKind switch
        {
            DatasetKind.BinarizedMnist => PixelCnnConfig.BinarizedMnist,
            DatasetKind.Mnist => PixelCnnConfig.GreyMnist,
            _ => PixelCnnConfig.Cifar10,
        };
        using var scope = NewDisposeScope();
        var stateDict = PixelCnnCheckpoint.ReadStateDict(path);
        var config = common.Override(result, CheckpointConfigInference.Infer(stateDict, template));
        var loaded = new LocallyMaskedPixelCnn(config, device);
        try
        {
            PixelCnnCheckpoint.LoadStateDict(loaded, stateDict, $"'{path}'");
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
        loaded.eval();
        Console.WriteLine($"model: {path} (inferred: {config.Filters} filters, {config.ResidualBlocks} blocks, {config.Likelihood}, {config.MixtureComponents} mixtures)");
        return new Loaded(loaded, KindOf(config), OrdersFromOptions(result, common, config));
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
