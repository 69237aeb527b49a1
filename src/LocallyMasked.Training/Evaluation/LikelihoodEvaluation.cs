using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace LocallyMasked.Training.Evaluation;

/// <summary>Log-likelihoods of images under several orders: entry (n, k) is log p(x_n) in nats under order k.</summary>
/// <param name="inputs">Encoded images (N, C, H, W).</param>
/// <param name="orders">The K orders.</param>
/// <returns>(N, K).</returns>
public delegate Tensor PerOrderLogLikelihoods(Tensor inputs, IReadOnlyList<GenerationOrder> orders);

/// <summary>
/// Test likelihoods of a model on a data set: the mean negative log-likelihood under each order and under their uniform
/// ensemble. Inputs are encoded as in training; binarized images get one fixed draw per image, so that every evaluation
/// sees the same binary images.
/// </summary>
public static class LikelihoodEvaluation
{
    /// <summary>
    /// Evaluates a model under <paramref name="orders"/> and their ensemble: a Locally Masked PixelCNN++ under any orders, the
    /// PixelCNN++ baseline under its raster order (its report has one order, whose likelihood is also the ensemble's).
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders (all supported by the model).</param>
    /// <param name="images">How many images, the first ones (0: all).</param>
    /// <param name="batchSize">Image x order pairs per network pass.</param>
    /// <param name="progress">Receives the number of images done after each batch, or null.</param>
    /// <param name="computeWith">How each batch's log-likelihoods are computed, given the model's own function: for example
    /// <see cref="Trainer.OnWorkers"/>, in shards on a trainer's worker threads; null: on the calling thread.</param>
    /// <exception cref="ArgumentException">An order is one the model does not support.</exception>
    public static EvaluationReport Evaluate(IAutoregressiveImageModel model, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int images = 0, int batchSize = 64, IProgress<int>? progress = null,
        Func<PerOrderLogLikelihoods, PerOrderLogLikelihoods>? computeWith = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        CheckData(model, data);
        CheckBatchSize(batchSize);
        PerOrderLogLikelihoods perOrder = (x, o) => model.PerOrderLogLikelihoods(x, o, batchSize);
        return EvaluateChecked(model.Module, computeWith is null ? perOrder : computeWith(perOrder), data, encoding, orders, model.Configuration.Bits,
            images, batchSize, progress);
    }

    /// <summary>
    /// The mean negative log-likelihood of a region of the images given what the model conditions it on
    /// (<see cref="IAutoregressiveImageModel.RegionLogLikelihood"/>): a model that takes any order generates the region
    /// after every other pixel, mixed uniformly over <paramref name="orders"/>; a raster-only model scores each region
    /// pixel given the pixels before it in raster order. Inputs are encoded as in <see cref="Evaluate(IAutoregressiveImageModel, ImageDataset, InputEncoding, IReadOnlyList{GenerationOrder}, int, int, IProgress{int}?, Func{PerOrderLogLikelihoods, PerOrderLogLikelihoods}?)"/>.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="region">The region to score, of the model's image size.</param>
    /// <param name="orders">The base orders (all supported by the model).</param>
    /// <param name="images">How many images, the first ones (0: all).</param>
    /// <param name="batchSize">Image x order pairs per network pass: each batch holds batchSize / K images (at least one).</param>
    /// <param name="progress">Receives the number of images done after each batch, or null.</param>
    /// <exception cref="ArgumentException">An order is one the model does not support, the region or the images are of
    /// another size than the model's, or the batch size is not positive.</exception>
    public static RegionEvaluationReport EvaluateRegion(IAutoregressiveImageModel model, ImageDataset data, InputEncoding encoding, ImageRegion region,
        IReadOnlyList<GenerationOrder> orders, int images = 0, int batchSize = 64, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(region);
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        CheckData(model, data);
        CheckBatchSize(batchSize);
        var config = model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException($"The region is for {region.Height}x{region.Width} images, the model for {config.Height}x{config.Width}.", nameof(region));
        int count = images <= 0 ? data.Count : Math.Min(images, data.Count);
        var first = model.Module.parameters().First();
        double total = 0;
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            int imagesPerBatch = Math.Max(1, batchSize / orders.Count);
            for (int start = 0; start < count; start += imagesPerBatch)
            {
                using var scope = NewDisposeScope();
                var indices = Enumerable.Range(start, Math.Min(imagesPerBatch, count - start)).ToArray();
                var x = Trainer.EncodeFixed(data, indices, encoding, first.device, first.dtype, config.Bits);
                // Summed on the CPU in float64, as the per-order figures are.
                total -= model.RegionLogLikelihood(x, region, orders, batchSize).to_type(ScalarType.Float64).cpu().sum().item<double>();
                progress?.Report(start + indices.Length);
            }
        }
        finally
        {
            model.Module.train(wasTraining);
        }
        return new RegionEvaluationReport(total / count, count, region.Pixels.Count, region.Pixels.Count * config.ImageChannels, orders.Count,
            RegionLast: model.SupportedOrders is null);
    }

    /// <summary>Evaluates any model through its per-order log-likelihoods, under <paramref name="orders"/> and their ensemble.</summary>
    /// <param name="model">The module (switched to evaluation mode for the call; its parameters give the device and dtype).</param>
    /// <param name="perOrder">The model's log-likelihoods (N, K) of encoded images under K orders.</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="bits">The model's bit depth for signed inputs.</param>
    /// <param name="images">How many images, the first ones (0: all).</param>
    /// <param name="batchSize">Image x order pairs per pass: each batch holds batchSize / K images (at least one).</param>
    /// <param name="progress">Receives the number of images done after each batch, or null.</param>
    public static EvaluationReport Evaluate(Module model, PerOrderLogLikelihoods perOrder, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int bits, int images = 0, int batchSize = 64, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(perOrder);
        ArgumentNullException.ThrowIfNull(data);
        OrderArguments.Check(orders, nameof(orders), data.Height, data.Width, "the data set");
        CheckBatchSize(batchSize);
        if (data.Count == 0) throw new ArgumentException($"The data set {data.Name} holds no images.", nameof(data));
        return EvaluateChecked(model, perOrder, data, encoding, orders, bits, images, batchSize, progress);
    }

    // The arguments were checked by the public overload that calls this.
    private static EvaluationReport EvaluateChecked(Module model, PerOrderLogLikelihoods perOrder, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int bits, int images, int batchSize, IProgress<int>? progress)
    {
        int count = images <= 0 ? data.Count : Math.Min(images, data.Count);
        var first = model.parameters().First();
        var totals = new double[orders.Count];
        double ensemble = 0;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            int imagesPerBatch = Math.Max(1, batchSize / orders.Count);
            for (int start = 0; start < count; start += imagesPerBatch)
            {
                using var scope = NewDisposeScope();
                var indices = Enumerable.Range(start, Math.Min(imagesPerBatch, count - start)).ToArray();
                var x = Trainer.EncodeFixed(data, indices, encoding, first.device, first.dtype, bits);
                var logLikelihoods = perOrder(x, orders);
                // Sums are read on the CPU in float64 (one transfer per batch on CUDA).
                var sums = logLikelihoods.sum(dim: 0).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int o = 0; o < orders.Count; o++) totals[o] -= sums[o];
                ensemble -= OrderEnsemble.Mix(logLikelihoods).sum().to_type(ScalarType.Float64).cpu().item<double>();
                progress?.Report(start + indices.Length);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new EvaluationReport(totals.Select(v => v / count).ToArray(), ensemble / count, count, data.ImageSize);
    }

    private static void CheckData(IAutoregressiveImageModel model, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var config = model.Configuration;
        if (data.Channels != config.ImageChannels || data.Height != config.Height || data.Width != config.Width)
            throw new ArgumentException(
                $"Expected {config.ImageChannels}x{config.Height}x{config.Width} images for this model, got {data.Channels}x{data.Height}x{data.Width} ({data.Name}).",
                nameof(data));
        if (data.Count == 0) throw new ArgumentException($"The data set {data.Name} holds no images.", nameof(data));
    }

    private static void CheckBatchSize(int batchSize)
    {
        if (batchSize <= 0) throw new ArgumentException($"Expected a positive batch size, got {batchSize}.", nameof(batchSize));
    }
}
