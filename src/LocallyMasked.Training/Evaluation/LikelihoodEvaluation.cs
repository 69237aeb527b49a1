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
        PerOrderLogLikelihoods perOrder = (x, o) => model.PerOrderLogLikelihoods(x, o, batchSize);
        return Evaluate(model.Module, computeWith is null ? perOrder : computeWith(perOrder), data, encoding, orders, model.Configuration.Bits,
            images, batchSize, progress);
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
        if (batchSize <= 0) throw new ArgumentException($"Expected a positive batch size, got {batchSize}.", nameof(batchSize));
        if (data.Count == 0) throw new ArgumentException($"The data set {data.Name} holds no images.", nameof(data));
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
}
