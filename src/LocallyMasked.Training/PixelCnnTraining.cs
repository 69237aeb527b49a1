using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>
/// Connects <see cref="Trainer"/> to the library's models (<see cref="LocallyMaskedPixelCnn"/> and the PixelCNN++ baseline
/// <see cref="PixelCnnPlusPlus"/>, through <see cref="IAutoregressiveImageModel"/>): the training objective, and trainers
/// whose checkpoints record the model's type and configuration as <see cref="ModelCatalog"/> names and writes them (so that
/// <c>PixelCnnCheckpoint.LoadModel</c> rebuilds it).
/// </summary>
public static class PixelCnnTraining
{
    /// <summary>
    /// The negative log-likelihood (nats per image) of a batch under one shared order or one order per image, with the
    /// model's dropout drawing from the generator passed. For the PixelCNN++ baseline every order is its raster order
    /// (it refuses any other).
    /// </summary>
    /// <param name="model">The model.</param>
    public static NegativeLogLikelihood Objective(IAutoregressiveImageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return (x, orders, dropout) =>
        {
            if (orders.Count != 1 && orders.Count != x.shape[0])
                throw new ArgumentException($"Expected one order, or one per image: {x.shape[0]} images, {orders.Count} orders.", nameof(orders));
            using var scope = NewDisposeScope();
            var parameters = model.DistributionParameters(x, orders, dropout);
            return model.Likelihood.LogProbability(x, parameters).sum(new long[] { 1, 2 }).neg().MoveToOuterDisposeScope();
        };
    }

    /// <summary>A trainer for <paramref name="model"/> whose checkpoints record the model's type and configuration; its
    /// steps evaluate the model in <see cref="TrainerOptions.Precision"/>.</summary>
    /// <param name="model">The model (either kind), already on its device.</param>
    /// <param name="orders">The order set: orders the model supports (for a PixelCNN++ exactly its raster order).</param>
    /// <param name="train">Training images.</param>
    /// <param name="test">Test images for periodic evaluation, or null.</param>
    /// <param name="options">Settings.</param>
    /// <param name="group">The processes that train the model together (see <see cref="Trainer"/>'s constructor); null: this process alone.</param>
    /// <exception cref="ArgumentException">The images do not fit the model, the encoding not its likelihood, an order is one
    /// the model does not support (named), or the options' precision does not fit the model (a mixed precision for a model
    /// that is not float32, or a model view in another precision).</exception>
    public static Trainer CreateTrainer(IAutoregressiveImageModel model, IReadOnlyList<GenerationOrder> orders, ImageDataset train,
        ImageDataset? test, TrainerOptions options, IDataParallelGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        var config = model.Configuration;
        if (train.Channels != config.ImageChannels || train.Height != config.Height || train.Width != config.Width)
            throw new ArgumentException(
                $"Expected {config.ImageChannels}x{config.Height}x{config.Width} images for this model, got " +
                $"{train.Channels}x{train.Height}x{train.Width}.", nameof(train));
        ArgumentNullException.ThrowIfNull(options);
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        bool binary = config.Likelihood == LikelihoodKind.Binary;
        if (binary != (options.Encoding == InputEncoding.DynamicBinarization))
            throw new ArgumentException(
                $"The {config.Likelihood} likelihood needs {(binary ? "DynamicBinarization" : "Signed")} inputs, got {options.Encoding}.", nameof(options));
        // The trainer computes in its options' precision: a model view of another precision is a contradiction.
        if (model.Precision != ComputePrecision.Float32 && model.Precision != options.Precision)
            throw new ArgumentException(
                $"The model is evaluated in precision {model.Precision} and the trainer options say {options.Precision}: set TrainerOptions.Precision " +
                "and pass the model itself.", nameof(options));
        var computing = model.WithPrecision(options.Precision);
        // Signed inputs are quantized to the model's bit depth.
        var definition = ModelCatalog.Get(model.Kind);
        return new Trainer(model.Module, Objective(computing), orders, train, test, options with { Bits = config.Bits },
            definition.WriteConfiguration(config), definition.TypeName, group);
    }

    /// <summary>A trainer for the PixelCNN++ baseline: its order set is its raster order (<see cref="PixelCnnPlusPlus.Order"/>).</summary>
    /// <param name="model">The model, already on its device.</param>
    /// <param name="train">Training images.</param>
    /// <param name="test">Test images for periodic evaluation, or null.</param>
    /// <param name="options">Settings (the order sampling is irrelevant: there is one order).</param>
    /// <param name="group">The processes that train the model together; null: this process alone.</param>
    public static Trainer CreateTrainer(PixelCnnPlusPlus model, ImageDataset train, ImageDataset? test, TrainerOptions options, IDataParallelGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return CreateTrainer(model, model.SupportedOrders, train, test, options, group);
    }
}
