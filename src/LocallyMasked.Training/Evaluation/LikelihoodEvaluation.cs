using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Distributed;
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
/// Test likelihoods of a model on a data set: every image's negative log-likelihood under each order and under their
/// uniform ensemble, and their means. Inputs are encoded as in training; binarized images get one fixed draw per image
/// (it depends on the image's index alone), so that every evaluation sees the same binary images.
/// </summary>
/// <remarks>
/// Images are taken in batches of <see cref="ImagesPerBatch"/> from the first image of the range. A range that starts
/// at a batch boundary of the whole evaluation (<see cref="Shard.RangeOf(int, int)"/>) puts every image in the batch,
/// and at the position, it has in one evaluation of all the images, so its figures are bitwise those of one evaluation;
/// the means are sums over images in image order, so parts put together (<see cref="EvaluationReport.FromImages"/>)
/// give the whole evaluation's means, bit for bit.
/// </remarks>
public static class LikelihoodEvaluation
{
    /// <summary>Images per network pass for <paramref name="batchSize"/> image x order pairs under <paramref name="orders"/> orders (at least one).</summary>
    /// <param name="batchSize">Image x order pairs per pass (at least 1).</param>
    /// <param name="orders">How many orders (at least 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A batch size or order count below 1.</exception>
    public static int ImagesPerBatch(int batchSize, int orders)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(orders, 1);
        return Math.Max(1, batchSize / orders);
    }

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
        ArgumentNullException.ThrowIfNull(data);
        return Evaluate(model, data, encoding, orders, ImageRange.All(Count(images, data)), batchSize, progress, computeWith);
    }

    /// <summary>
    /// Evaluates a model on a range of the images (a part of an evaluation: <see cref="Shard.RangeOf(int, int)"/> with
    /// <see cref="ImagesPerBatch"/>), under <paramref name="orders"/> and their ensemble.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders (all supported by the model).</param>
    /// <param name="range">Which images (at least one, within the data set).</param>
    /// <param name="batchSize">Image x order pairs per network pass.</param>
    /// <param name="progress">Receives the number of the range's images done after each batch, or null.</param>
    /// <param name="computeWith">How each batch's log-likelihoods are computed (see the other overload); null: on the calling thread.</param>
    /// <exception cref="ArgumentException">An order is one the model does not support, images of another size than the
    /// model's, or a batch size that is not positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An empty range, or one past the data set's end.</exception>
    public static EvaluationReport Evaluate(IAutoregressiveImageModel model, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, ImageRange range, int batchSize = 64, IProgress<int>? progress = null,
        Func<PerOrderLogLikelihoods, PerOrderLogLikelihoods>? computeWith = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        CheckData(model, data);
        CheckBatchSize(batchSize);
        CheckRange(range, data);
        PerOrderLogLikelihoods perOrder = (x, o) => model.PerOrderLogLikelihoods(x, o, batchSize);
        return EvaluateChecked(model.Module, computeWith is null ? perOrder : computeWith(perOrder), data, encoding, orders, model.Configuration.Bits,
            range, batchSize, progress);
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
        ArgumentNullException.ThrowIfNull(data);
        return EvaluateRegion(model, data, encoding, region, orders, ImageRange.All(Count(images, data)), batchSize, progress);
    }

    /// <summary>
    /// The region's negative log-likelihood on a range of the images (a part of an evaluation), as the other overload
    /// computes it.
    /// </summary>
    /// <param name="model">The model (either kind).</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="region">The region to score, of the model's image size.</param>
    /// <param name="orders">The base orders (all supported by the model).</param>
    /// <param name="range">Which images (at least one, within the data set).</param>
    /// <param name="batchSize">Image x order pairs per network pass.</param>
    /// <param name="progress">Receives the number of the range's images done after each batch, or null.</param>
    /// <exception cref="ArgumentException">As the other overload.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An empty range, or one past the data set's end.</exception>
    public static RegionEvaluationReport EvaluateRegion(IAutoregressiveImageModel model, ImageDataset data, InputEncoding encoding, ImageRegion region,
        IReadOnlyList<GenerationOrder> orders, ImageRange range, int batchSize = 64, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(region);
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        CheckData(model, data);
        CheckBatchSize(batchSize);
        CheckRange(range, data);
        var config = model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException($"The region is for {region.Height}x{region.Width} images, the model for {config.Height}x{config.Width}.", nameof(region));
        var first = model.Module.parameters().First();
        var perImage = new List<double>(range.Count);
        bool wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            int imagesPerBatch = ImagesPerBatch(batchSize, orders.Count);
            for (int start = range.Start; start < range.End; start += imagesPerBatch)
            {
                using var scope = NewDisposeScope();
                var indices = Enumerable.Range(start, Math.Min(imagesPerBatch, range.End - start)).ToArray();
                var x = Trainer.EncodeFixed(data, indices, encoding, first.device, first.dtype, config.Bits);
                // Read on the CPU in float64 (one transfer per batch on CUDA), summed there in image order.
                foreach (double logLikelihood in model.RegionLogLikelihood(x, region, orders, batchSize).to_type(ScalarType.Float64).cpu().data<double>().ToArray())
                    perImage.Add(-logLikelihood);
                progress?.Report(start + indices.Length - range.Start);
            }
        }
        finally
        {
            model.Module.train(wasTraining);
        }
        return RegionEvaluationReport.FromImages(range.Start, perImage, region.Pixels.Count, region.Pixels.Count * config.ImageChannels, orders.Count,
            regionLast: model.SupportedOrders is null);
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
        return EvaluateChecked(model, perOrder, data, encoding, orders, bits, ImageRange.All(Count(images, data)), batchSize, progress);
    }

    // The arguments were checked by the public overload that calls this.
    private static EvaluationReport EvaluateChecked(Module model, PerOrderLogLikelihoods perOrder, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int bits, ImageRange range, int batchSize, IProgress<int>? progress)
    {
        var first = model.parameters().First();
        var perImage = new List<ImageNats>(range.Count);
        int k = orders.Count;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            int imagesPerBatch = ImagesPerBatch(batchSize, k);
            for (int start = range.Start; start < range.End; start += imagesPerBatch)
            {
                using var scope = NewDisposeScope();
                var indices = Enumerable.Range(start, Math.Min(imagesPerBatch, range.End - start)).ToArray();
                var x = Trainer.EncodeFixed(data, indices, encoding, first.device, first.dtype, bits);
                var logLikelihoods = perOrder(x, orders);
                // Every image's values are read on the CPU in float64 (one transfer per batch on CUDA); the means are
                // their sums in image order (EvaluationReport.FromImages), whatever the batches.
                var values = cat(new[] { logLikelihoods, OrderEnsemble.Mix(logLikelihoods).unsqueeze(1) }, 1)
                    .to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int i = 0; i < indices.Length; i++)
                {
                    var nats = new double[k];
                    for (int o = 0; o < k; o++) nats[o] = -values[i * (k + 1) + o];
                    perImage.Add(new ImageNats(indices[i], nats, -values[i * (k + 1) + k]));
                }
                progress?.Report(start + indices.Length - range.Start);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return EvaluationReport.FromImages(perImage, data.ImageSize);
    }

    private static int Count(int images, ImageDataset data) => images <= 0 ? data.Count : Math.Min(images, data.Count);

    private static void CheckRange(ImageRange range, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(range);
        if (range.Count == 0) throw new ArgumentOutOfRangeException(nameof(range), range, "Expected at least one image.");
        range.CheckedWithin(data.Count, nameof(range));
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
