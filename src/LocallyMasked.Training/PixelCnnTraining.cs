using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training;

/// <summary>
/// Connects <see cref="Trainer"/> to <see cref="LocallyMaskedPixelCnn"/>: the training objective, and trainers whose
/// checkpoints record the model's configuration (so that <c>PixelCnnCheckpoint.LoadModel</c> rebuilds the model).
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
        return new Trainer(model, Objective(model), orders, train, test, options with { Bits = model.Config.Bits }, model.Config.ToJson());
    }
}
