using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Models from training checkpoints (<see cref="TrainingCheckpointFile"/>): the model the metadata records, built through
/// <see cref="ModelCatalog"/> with its recorded configuration and filled in place with the trained weights or their moving
/// average; and the mean of several checkpoints' weights. The optimizer and generator sections are skipped.
/// </summary>
internal static class TrainingCheckpointModels
{
    /// <summary>Loads the model of a training checkpoint (in evaluation mode).</summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="options">The caller's options (checked).</param>
    public static LoadedModel Load(string path, ModelLoadOptions options)
    {
        var (metadata, storedType) = TrainingCheckpointFile.ReadMetadataAndModelType(path);
        var notes = new List<ConfigurationNote>();
        var (definition, recorded) = ModelOf(metadata, path);
        if (options.ImageSize is { } size && (size.Height != recorded.Height || size.Width != recorded.Width))
            throw new ArgumentException(
                $"{path}: a training checkpoint's model is {recorded.Height}x{recorded.Width} and its orders are of that size; ModelLoadOptions.ImageSize applies to weight files only.",
                nameof(options));
        LoadOverrides.CheckImageSize(recorded.Height, recorded.Width, options, $"'{path}'");
        var orders = OrdersOf(metadata, path);
        IImageModelConfig config = recorded;
        if (recorded is PixelCnnConfig lmconv) config = LoadOverrides.Apply(lmconv, options, notes, path);
        else LoadOverrides.CheckBaseline(options, $"'{path}'");
        bool useAverage = options.MovingAverageWeights;
        if (useAverage && !TrainingCheckpointFile.HasWeightAverage(path))
            throw new InvalidDataException($"{path}: the checkpoint holds no moving average of the weights (it was trained without EMA); load its trained weights instead.");
        // Built in the stored dtype (the checkpoint's tensors are loaded in place), converted afterwards if asked.
        var model = definition.Create(config, options.Device, storedType);
        try
        {
            var module = model.Module;
            Dictionary<string, Tensor>? average = null;
            if (useAverage)
                average = module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
            TrainingCheckpointFile.Load(path, module.state_dict(), average);
            if (average is not null)
            {
                using (no_grad())
                    foreach (var (name, parameter) in module.named_parameters())
                        parameter.copy_(average[name]);
                foreach (var t in average.Values) t.Dispose();
            }
            if (!options.AllowNonFiniteWeights) FiniteWeights.Check(module.state_dict(), $"'{path}'");
            if (options.DType is { } dtype && dtype != model.DType) module.to(dtype);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.Module.eval();
        return new LoadedModel(model, CheckpointFormat.Training, orders, metadata, useAverage, notes);
    }

    /// <summary>The mean of the trained weights of several checkpoints of one model (in evaluation mode); the orders and metadata are the first file's.</summary>
    /// <param name="paths">Training checkpoints (checked to be such).</param>
    /// <param name="options">Device and dtype.</param>
    /// <exception cref="InvalidDataException">The files hold different models, or one is truncated or corrupt.</exception>
    public static LoadedModel Average(IReadOnlyList<string> paths, ModelLoadOptions options)
    {
        var metadata = TrainingCheckpointFile.ReadMetadata(paths[0]);
        var (definition, config) = ModelOf(metadata, paths[0]);
        LoadOverrides.CheckImageSize(config.Height, config.Width, options, $"'{paths[0]}'");
        var orders = OrdersOf(metadata, paths[0]);
        foreach (var path in paths.Skip(1))
        {
            var (otherDefinition, otherConfig) = ModelOf(TrainingCheckpointFile.ReadMetadata(path), path);
            if (otherDefinition != definition || !otherConfig.Equals(config))
                throw new InvalidDataException(
                    $"{path}: a different model ({otherDefinition.Kind}) or configuration than {paths[0]} ({definition.Kind}); only checkpoints of one model can be averaged.");
        }
        var model = definition.Create(config, options.Device, options.DType);
        var sums = new Dictionary<string, Tensor>();
        try
        {
            foreach (var path in paths)
            {
                var tensors = TrainingCheckpointFile.ReadModelTensors(path);
                foreach (var (name, value) in tensors)
                {
                    using var scope = NewDisposeScope();
                    var asDouble = value.is_floating_point() ? value.to_type(ScalarType.Float64) : value;
                    if (sums.TryGetValue(name, out var sum)) sum.PlusInPlace(asDouble);
                    else sums[name] = asDouble.clone().DetachFromDisposeScope();
                    value.Dispose();
                }
            }
            using (no_grad())
            {
                var state = model.Module.state_dict();
                if (!state.Keys.ToHashSet().SetEquals(sums.Keys))
                    throw new InvalidDataException($"{paths[0]}: the checkpoints' tensors do not match the model's.");
                foreach (var (name, target) in state)
                {
                    using var scope = NewDisposeScope();
                    var mean = target.is_floating_point() ? sums[name].DividedBy(paths.Count) : sums[name];
                    target.copy_(mean.to(target.dtype).to(target.device));
                }
            }
            if (!options.AllowNonFiniteWeights) FiniteWeights.Check(model.Module.state_dict(), $"the mean of {string.Join(", ", paths.Select(p => $"'{p}'"))}");
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in sums.Values) t.Dispose();
        }
        model.Module.eval();
        return new LoadedModel(model, CheckpointFormat.Training, orders, metadata, false, Array.Empty<ConfigurationNote>());
    }

    /// <summary>The orders a training checkpoint records, built before the model; an order that is not one (a size past an int's pixels, a sequence that is no permutation) is refused naming the file.</summary>
    private static IReadOnlyList<GenerationOrder> OrdersOf(CheckpointMetadata metadata, string path)
    {
        try
        {
            return metadata.Orders();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: the checkpoint records an invalid order ({e.Message})", e);
        }
    }

    /// <summary>The model and configuration a training checkpoint records, with the file named in a refusal.</summary>
    private static (ModelDefinition Definition, IImageModelConfig Config) ModelOf(CheckpointMetadata metadata, string path)
    {
        try
        {
            var definition = metadata.Definition();
            return (definition, definition.ReadConfiguration(metadata.ModelConfiguration));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
