using LocallyMasked.Likelihoods;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// Evaluates a model under several orders at once: all image x order pairs in batched passes with per-sample masks (the
/// batch repeated once per order), in chunks that fit the device's memory.
/// </summary>
internal static class EnsembleEvaluation
{
    /// <summary>Conditional log-likelihood (N) of a region given the rest; see <see cref="LocallyMaskedPixelCnn.RegionLogLikelihood"/>.</summary>
    public static Tensor RegionLogLikelihood(LocallyMaskedPixelCnn model, Tensor x, ImageRegion region,
        IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(region);
        if (region.Height != model.Config.Height || region.Width != model.Config.Width)
            throw new ArgumentException(
                $"The region is for {region.Height}x{region.Width} images, the model for {model.Config.Height}x{model.Config.Width}.", nameof(region));
        if (region.Pixels.Count == 0) throw new ArgumentException("The region is empty.", nameof(region));
        OrderArguments.Check(orders, nameof(orders), model.Config.Height, model.Config.Width);
        var regionLast = orders.Select(o => o.WithRegionLast(region.Pixels)).ToArray();

        using var scope = NewDisposeScope();
        var weights = new double[region.Height * region.Width];
        foreach (var pixel in region.Pixels) weights[pixel] = 1.0;
        var pixelWeights = tensor(weights, dtype: model.DType, device: model.Device).reshape(region.Height, region.Width);
        var perOrder = PerOrderLogLikelihoods(model, x, regionLast, pixelWeights, maxBatchSize);
        return OrderEnsemble.Mix(perOrder).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Log-likelihood in nats of every image under every order: entry (n, k) is
    /// sum over pixels of weight[pixel] * log p_k(x_n[pixel] | earlier pixels of order k).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The K orders.</param>
    /// <param name="pixelWeights">Per-pixel weights (H, W) (e.g. a region indicator), or null to count every pixel once.</param>
    /// <param name="maxBatchSize">Most image x order pairs per network pass; null tries one pass and halves it while the device runs out of memory.</param>
    /// <returns>(N, K).</returns>
    public static Tensor PerOrderLogLikelihoods(LocallyMaskedPixelCnn model, Tensor x, IReadOnlyList<GenerationOrder> orders,
        Tensor? pixelWeights = null, int? maxBatchSize = null)
    {
        OrderArguments.Check(orders, nameof(orders), model.Config.Height, model.Config.Width);
        model.CheckInput(x, nameof(x));
        if (maxBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "Expected a positive batch size.");
        if (pixelWeights is not null && !pixelWeights.shape.SequenceEqual(new long[] { model.Config.Height, model.Config.Width }))
            throw new ArgumentException(
                $"Expected pixel weights of shape ({model.Config.Height}, {model.Config.Width}), got ({string.Join(", ", pixelWeights.shape)}).", nameof(pixelWeights));

        long n = x.shape[0];
        int k = orders.Count;
        using var scope = NewDisposeScope();
        var weights = pixelWeights?.to(x.dtype, x.device);
        // Pairs are laid out order-major: pair p is image p % N under order p / N.
        var perPair = EvaluateInChunks(n * k, maxBatchSize, (start, count) =>
        {
            var imageIndex = tensor(Enumerable.Range(0, (int)count).Select(i => (start + i) % n).ToArray(), ScalarType.Int64, x.device);
            var images = x.index_select(0, imageIndex);
            var chunkOrders = Enumerable.Range(0, (int)count).Select(i => orders[(int)((start + i) / n)]).ToArray();
            var perPixel = model.LogLikelihoodPerPixel(images, model.MasksFor(chunkOrders));
            if (weights is not null) perPixel = perPixel * weights;
            return perPixel.sum(new long[] { 1, 2 });
        });
        return perPair.reshape(k, n).t().contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Evaluates <paramref name="total"/> items in chunks of at most <paramref name="maxBatchSize"/> and concatenates
    /// the (count) results. Without a bound everything is tried in one chunk, and a chunk that runs out of device
    /// memory is halved and retried, so the largest batch that fits is used.
    /// </summary>
    /// <param name="total">Number of items.</param>
    /// <param name="maxBatchSize">Fixed chunk size, or null for "as large as memory allows".</param>
    /// <param name="evaluate">Evaluates items [start, start + count) and returns a (count) tensor.</param>
    internal static Tensor EvaluateInChunks(long total, int? maxBatchSize, Func<long, long, Tensor> evaluate)
    {
        using var scope = NewDisposeScope();
        long chunk = maxBatchSize ?? total;
        var results = new List<Tensor>();
        for (long start = 0; start < total;)
        {
            long count = Math.Min(chunk, total - start);
            try
            {
                using var chunkScope = NewDisposeScope();
                results.Add(evaluate(start, count).MoveToOuterDisposeScope());
                start += count;
            }
            catch (System.Runtime.InteropServices.ExternalException e)
                when (maxBatchSize is null && count > 1 && e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
            {
                // The chunk scope has released this attempt's tensors; retry the same items in halves.
                chunk = (count + 1) / 2;
            }
        }
        return cat(results, 0).MoveToOuterDisposeScope();
    }

}
