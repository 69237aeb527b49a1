using LocallyMasked.Likelihoods;
using System.Text.Json;
using LocallyMasked.Data;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// Connects <see cref="Trainer"/> and <see cref="CheckpointFile"/> to <see cref="LocallyMaskedPixelCnn"/>: the
/// training objective, checkpoints that rebuild the model from its stored configuration, and checkpoint averaging.
/// </summary>
public static class PixelCnnTraining
{
    /// <summary>The negative log-likelihood (nats per image) of a batch under one shared order or one order per image.</summary>
    /// <param name="model">The model.</param>
    public static NegativeLogLikelihood Objective(LocallyMaskedPixelCnn model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return (x, orders) => orders.Count == 1
            ? model.LogLikelihood(x, orders[0]).neg()
            : model.LogLikelihood(x, orders).neg();
    }

    /// <summary>A trainer for <paramref name="model"/> whose checkpoints record the model's configuration.</summary>
    /// <param name="model">The model, already on its device.</param>
    /// <param name="orders">The order set.</param>
    /// <param name="train">Training images.</param>
    /// <param name="test">Test images for periodic evaluation, or null.</param>
    /// <param name="options">Settings.</param>
    public static Trainer CreateTrainer(LocallyMaskedPixelCnn model, IReadOnlyList<GenerationOrder> orders, ImageDataset train,
        ImageDataset? test, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        if (train.Channels != model.Config.ImageChannels || train.Height != model.Config.Height || train.Width != model.Config.Width)
            throw new ArgumentException(
                $"Expected {model.Config.ImageChannels}x{model.Config.Height}x{model.Config.Width} images for this model, got " +
                $"{train.Channels}x{train.Height}x{train.Width}.", nameof(train));
        ArgumentNullException.ThrowIfNull(options);
        bool binary = model.Config.Likelihood == LikelihoodKind.Binary;
        if (binary != (options.Encoding == InputEncoding.DynamicBinarization))
            throw new ArgumentException(
                $"The {model.Config.Likelihood} likelihood needs {(binary ? "DynamicBinarization" : "Signed")} inputs, got {options.Encoding}.", nameof(options));
        // Signed inputs are quantized to the model's bit depth.
        return new Trainer(model, Objective(model), orders, train, test, options with { Bits = model.Config.Bits }, SerializeConfig(model.Config));
    }

    /// <summary>The configuration as stored in checkpoints.</summary>
    /// <param name="config">The configuration.</param>
    public static string SerializeConfig(PixelCnnConfig config) => JsonSerializer.Serialize(config);

    /// <summary>The configuration a checkpoint was trained with.</summary>
    /// <param name="metadata">The checkpoint's metadata.</param>
    public static PixelCnnConfig ConfigOf(CheckpointMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (string.IsNullOrEmpty(metadata.ModelConfiguration))
            throw new InvalidDataException("The checkpoint holds no model configuration.");
        try
        {
            return JsonSerializer.Deserialize<PixelCnnConfig>(metadata.ModelConfiguration)
                ?? throw new InvalidDataException("The checkpoint's model configuration is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint's model configuration is not a PixelCnnConfig ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Builds the model a training checkpoint describes and loads its weights: the moving average of the weights when
    /// the checkpoint has one and <paramref name="useAverage"/> is set, else the trained weights.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="device">Where to put the model; CPU when null.</param>
    /// <param name="useAverage">Prefer the averaged weights.</param>
    /// <returns>The model (in eval mode) and the checkpoint's metadata.</returns>
    public static (LocallyMaskedPixelCnn Model, CheckpointMetadata Metadata) LoadModel(string path, Device? device = null, bool useAverage = true)
    {
        var metadata = CheckpointFile.ReadMetadata(path);
        var model = new LocallyMaskedPixelCnn(ConfigOf(metadata), device);
        try
        {
            Dictionary<string, Tensor>? average = null;
            if (useAverage && metadata.Options.EmaDecay is not null)
                average = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
            CheckpointFile.Load(path, new CheckpointFile.Parts(model, null, average));
            if (average is not null)
            {
                using (no_grad())
                    foreach (var (name, parameter) in model.named_parameters())
                        parameter.copy_(average[name]);
                foreach (var t in average.Values) t.Dispose();
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return (model, metadata);
    }

    /// <summary>
    /// Averages the weights of several checkpoints of the same model (for example the last few of a run): each
    /// parameter and buffer becomes the mean of its values across the files. Uses the trained weights, not the moving
    /// averages.
    /// </summary>
    /// <param name="paths">Two or more checkpoint files with the same configuration.</param>
    /// <param name="device">Where to put the model; CPU when null.</param>
    public static LocallyMaskedPixelCnn AverageCheckpoints(IReadOnlyList<string> paths, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0) throw new ArgumentException("Expected at least one checkpoint.", nameof(paths));
        var config = ConfigOf(CheckpointFile.ReadMetadata(paths[0]));
        foreach (var path in paths.Skip(1))
            if (ConfigOf(CheckpointFile.ReadMetadata(path)) != config)
                throw new InvalidDataException($"{path}: a different model configuration than {paths[0]}; only checkpoints of one model can be averaged.");
        var model = new LocallyMaskedPixelCnn(config, device);
        var sums = new Dictionary<string, Tensor>();
        try
        {
            foreach (var path in paths)
            {
                var tensors = CheckpointFile.ReadModelTensors(path);
                foreach (var (name, value) in tensors)
                {
                    using var scope = NewDisposeScope();
                    var asDouble = value.is_floating_point() ? value.to_type(ScalarType.Float64) : value;
                    if (sums.TryGetValue(name, out var sum)) sum.add_(asDouble);
                    else sums[name] = asDouble.clone().DetachFromDisposeScope();
                    value.Dispose();
                }
            }
            using (no_grad())
            {
                var state = model.state_dict();
                if (!state.Keys.ToHashSet().SetEquals(sums.Keys))
                    throw new InvalidDataException($"{paths[0]}: the checkpoints' tensors do not match the model's.");
                foreach (var (name, target) in state)
                {
                    using var scope = NewDisposeScope();
                    var mean = target.is_floating_point() ? sums[name].div(paths.Count) : sums[name];
                    target.copy_(mean.to(target.dtype).to(target.device));
                }
            }
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
        model.eval();
        return model;
    }
}
