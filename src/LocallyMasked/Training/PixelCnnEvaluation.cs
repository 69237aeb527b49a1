using LocallyMasked.Data;
using LocallyMasked.Ensembles;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training;

/// <summary>Test likelihoods of a <see cref="LocallyMaskedPixelCnn"/> on a data set.</summary>
public static class PixelCnnEvaluation
{
    /// <summary>
    /// Mean negative log-likelihood (nats per image) of the first <paramref name="images"/> images under each order
    /// and under the uniform ensemble of the orders (per image: logsumexp over orders minus log of their count).
    /// Binarized data are binarized once per image with a fixed seed, as the trainer's evaluations are.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="data">The images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="images">How many images (0: all).</param>
    /// <param name="batchSize">Image x order pairs per network pass.</param>
    /// <param name="progress">Receives the number of images done after each batch, or null.</param>
    public static EvaluationReport Evaluate(LocallyMaskedPixelCnn model, ImageDataset data, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int images = 0, int batchSize = 64, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(orders);
        if (orders.Count == 0) throw new ArgumentException("Expected at least one order.", nameof(orders));
        if (batchSize <= 0) throw new ArgumentException($"Expected a positive batch size, got {batchSize}.", nameof(batchSize));
        int count = images <= 0 ? data.Count : Math.Min(images, data.Count);
        var perOrder = new double[orders.Count];
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
                var x = Trainer.EncodeFixed(data, indices, encoding, model.Device, model.DType, model.Config.Bits);
                var ll = OrderEnsemble.PerOrderLogLikelihoods(model, x, orders, null, batchSize);
                var sums = ll.sum(dim: 0).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
                for (int o = 0; o < orders.Count; o++) perOrder[o] -= sums[o];
                ensemble -= OrderEnsemble.Mix(ll).sum().ToDouble();
                progress?.Report(start + indices.Length);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new EvaluationReport(perOrder.Select(v => v / count).ToArray(), ensemble / count, count, model.Config.Dimensions);
    }
}
