using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Ensembles;

/// <summary>
/// Order ensembles (the paper's "ensembling over orders"): the likelihood of the uniform mixture of the
/// autoregressive models given by several orders, log p(x) = logsumexp_k log p_k(x) - log K. All image x order
/// pairs are evaluated in batched passes with per-sample masks (the batch repeated once per order).
/// </summary>
public static class OrderEnsemble
{
    /// <summary>Log-likelihood in nats of every image under the uniform mixture of <paramref name="orders"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The K orders (repeats allowed: the mixture weights are uniform over the list).</param>
    /// <param name="maxBatchSize">Most image x order pairs per network pass; null tries all N K pairs in one pass and halves the pass size while the device runs out of memory.</param>
    /// <returns>(N).</returns>
    public static Tensor LogLikelihood(LocallyMaskedPixelCnn model, Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null)
    {
        using var scope = NewDisposeScope();
        var perOrder = PerOrderLogLikelihoods(model, x, orders, null, maxBatchSize);
        return Mix(perOrder).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Conditional log-likelihood in nats of a region given the rest of the image: every order is rearranged
    /// with <see cref="GenerationOrder.WithRegionLast"/> so all observed pixels come first, only the region's
    /// pixels are scored, and the K conditionals are mixed uniformly (logsumexp - log K).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="region">The region to score; its size must equal the model's image size.</param>
    /// <param name="orders">Base orders (K &gt;= 1).</param>
    /// <param name="maxBatchSize">Most image x order pairs per network pass; null tries one pass and halves it while the device runs out of memory.</param>
    /// <returns>(N).</returns>
    public static Tensor RegionLogLikelihood(LocallyMaskedPixelCnn model, Tensor x, ImageRegion region,
        IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(orders);
        if (region.Height != model.Config.Height || region.Width != model.Config.Width)
            throw new ArgumentException(
                $"The region is for {region.Height}x{region.Width} images, the model for {model.Config.Height}x{model.Config.Width}.", nameof(region));
        if (region.Pixels.Count == 0) throw new ArgumentException("The region is empty.", nameof(region));
        CheckOrders(orders, nameof(orders));
        var regionLast = orders.Select(o => o.WithRegionLast(region.Pixels)).ToArray();

        using var scope = NewDisposeScope();
        var weights = new double[region.Height * region.Width];
        foreach (var pixel in region.Pixels) weights[pixel] = 1.0;
        var pixelWeights = tensor(weights, dtype: model.DType, device: model.Device).reshape(region.Height, region.Width);
        var perOrder = PerOrderLogLikelihoods(model, x, regionLast, pixelWeights, maxBatchSize);
        return Mix(perOrder).MoveToOuterDisposeScope();
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
        ArgumentNullException.ThrowIfNull(model);
        CheckOrders(orders, nameof(orders));
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
            var imageIndex = arange(start, start + count, dtype: ScalarType.Int64, device: x.device).remainder(n);
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

    /// <summary>Uniform mixture of per-order log-likelihoods (N, K): logsumexp over K minus log K.</summary>
    /// <param name="perOrder">(N, K) log-likelihoods.</param>
    /// <returns>(N).</returns>
    public static Tensor Mix(Tensor perOrder)
    {
        ArgumentNullException.ThrowIfNull(perOrder);
        if (perOrder.dim() != 2 || perOrder.shape[1] < 1)
            throw new ArgumentException($"Expected per-order log-likelihoods of shape (N, K), got ({string.Join(", ", perOrder.shape)}).", nameof(perOrder));
        using var scope = NewDisposeScope();
        return (perOrder.logsumexp(1) - Math.Log(perOrder.shape[1])).MoveToOuterDisposeScope();
    }

    private static void CheckOrders(IReadOnlyList<GenerationOrder> orders, string argumentName)
    {
        if (orders is null) throw new ArgumentNullException(argumentName);
        if (orders.Count == 0) throw new ArgumentException("Expected at least one order.", argumentName);
        if (orders.Any(o => o is null)) throw new ArgumentException("The orders must not be null.", argumentName);
    }
}
