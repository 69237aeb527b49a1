using LocallyMasked.Likelihoods;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// What every <see cref="IAutoregressiveImageModel"/> computes from its distribution parameters and its likelihood head,
/// written once for all models: log-likelihoods per pixel, per image, per order, of the order ensemble and of a region.
/// A model supplies <see cref="IAutoregressiveImageModel.DistributionParameters"/> (one order shared by a batch, or one
/// per image), <see cref="IAutoregressiveImageModel.Likelihood"/> and the orders it supports; everything here follows.
/// </summary>
internal static class ModelLikelihoods
{
    /// <summary>Log-likelihood (N, H, W) of every pixel, summed over its channels, under one order shared by the batch.</summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="order">The order (of the model's size, and supported).</param>
    public static Tensor PerPixel(IAutoregressiveImageModel model, Tensor x, GenerationOrder order)
    {
        ModelInputs.CheckOrder(model, order, nameof(order));
        return PerPixel(model, x, new[] { order });
    }

    /// <summary>Log-likelihood (N, H, W) of every pixel under one shared order or one order per image.</summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">One order, or N orders.</param>
    public static Tensor PerPixel(IAutoregressiveImageModel model, Tensor x, IReadOnlyList<GenerationOrder> orders)
    {
        using var scope = NewDisposeScope();
        var parameters = model.DistributionParameters(x, orders);
        return model.Likelihood.LogProbability(x, parameters).MoveToOuterDisposeScope();
    }

    /// <summary>Log-likelihood (N) of every image under one order shared by the batch.</summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="order">The order.</param>
    public static Tensor PerImage(IAutoregressiveImageModel model, Tensor x, GenerationOrder order)
    {
        using var scope = NewDisposeScope();
        return PerPixel(model, x, order).sum(new long[] { 1, 2 }).MoveToOuterDisposeScope();
    }

    /// <summary>Log-likelihood (N) of every image, image i under <paramref name="orders"/>[i].</summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">N orders.</param>
    /// <exception cref="ArgumentException">An order is unsupported or of another size, or there are not N of them.</exception>
    public static Tensor PerImage(IAutoregressiveImageModel model, Tensor x, IReadOnlyList<GenerationOrder> orders)
    {
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        if (x is not null && x.dim() >= 1 && orders.Count != x.shape[0])
            throw new ArgumentException($"Expected one order per image: {x.shape[0]} images, {orders.Count} orders.", nameof(orders));
        using var scope = NewDisposeScope();
        return PerPixel(model, x!, orders).sum(new long[] { 1, 2 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Log-likelihood (N, K) of every image under every order: entry (n, k) is the sum over pixels of
    /// weight[pixel] * log p_k(x_n[pixel] | the pixels before it in order k). Each distinct order is evaluated once (a
    /// model with one supported order makes one pass per image), all image x order pairs in batched passes with one order
    /// per image, in chunks that fit the device's memory.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The K orders.</param>
    /// <param name="pixelWeights">Per-pixel weights (H, W) (a region indicator), or null to count every pixel once.</param>
    /// <param name="maxBatchSize">Most image x order pairs per network pass; null tries one pass and halves it while the device runs out of memory.</param>
    public static Tensor PerOrder(IAutoregressiveImageModel model, Tensor x, IReadOnlyList<GenerationOrder> orders,
        Tensor? pixelWeights = null, int? maxBatchSize = null)
    {
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        ModelInputs.CheckImages(model, x, nameof(x));
        if (maxBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "Expected a positive batch size.");
        var config = model.Configuration;
        if (pixelWeights is not null && !pixelWeights.shape.SequenceEqual(new long[] { config.Height, config.Width }))
            throw new ArgumentException(
                $"Expected pixel weights of shape ({config.Height}, {config.Width}), got ({string.Join(", ", pixelWeights.shape)}).", nameof(pixelWeights));

        var distinct = orders.Distinct().ToArray();
        long n = x.shape[0];
        int k = distinct.Length;
        using var scope = NewDisposeScope();
        var weights = pixelWeights?.to(x.dtype, x.device);
        // Pairs are laid out order-major: pair p is image p % N under distinct order p / N.
        var perPair = EvaluateInChunks(n * k, maxBatchSize, (start, count) =>
        {
            var imageIndex = tensor(Enumerable.Range(0, (int)count).Select(i => (start + i) % n).ToArray(), ScalarType.Int64, x.device);
            var images = x.index_select(0, imageIndex);
            var chunkOrders = Enumerable.Range(0, (int)count).Select(i => distinct[(int)((start + i) / n)]).ToArray();
            var perPixel = PerPixel(model, images, chunkOrders);
            if (weights is not null) perPixel = perPixel * weights;
            return perPixel.sum(new long[] { 1, 2 });
        });
        var perDistinct = perPair.reshape(k, n).t();
        if (k == orders.Count) return perDistinct.contiguous().MoveToOuterDisposeScope();
        var column = tensor(orders.Select(o => (long)Array.IndexOf(distinct, o)).ToArray(), ScalarType.Int64, x.device);
        return perDistinct.index_select(1, column).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Log-likelihood (N) under the uniform mixture of the orders (the order ensemble): logsumexp over the orders minus
    /// log K. Orders that are all one order make a mixture of one distribution, which is that order's likelihood.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="orders">The orders (repeats allowed: the weights are uniform over the list).</param>
    /// <param name="maxBatchSize">As for <see cref="PerOrder"/>.</param>
    public static Tensor Ensemble(IAutoregressiveImageModel model, Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null) =>
        Ensemble(model, x, orders, null, maxBatchSize);

    /// <summary>
    /// Log-likelihood (N) of a region's pixels given what the model can condition on, mixed uniformly over the orders. A
    /// model that takes any order moves each order's region to its end (every other pixel is observed first); a model
    /// restricted to some orders scores the region under the orders as given (each region pixel given the pixels before it).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="region">The region to score.</param>
    /// <param name="orders">The base orders.</param>
    /// <param name="maxBatchSize">As for <see cref="PerOrder"/>.</param>
    public static Tensor Region(IAutoregressiveImageModel model, Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders,
        int? maxBatchSize = null)
    {
        ArgumentNullException.ThrowIfNull(region);
        var config = model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException(
                $"The region is for {region.Height}x{region.Width} images, the model for {config.Height}x{config.Width}.", nameof(region));
        if (region.Pixels.Count == 0) throw new ArgumentException("The region is empty.", nameof(region));
        ModelInputs.CheckOrders(model, orders, nameof(orders));
        var scored = model.SupportedOrders is null ? orders.Select(o => o.WithRegionLast(region.Pixels)).ToArray() : orders;

        using var scope = NewDisposeScope();
        var weights = RegionWeights(region, model.DType, model.Device);
        return Ensemble(model, x, scored, weights, maxBatchSize).MoveToOuterDisposeScope();
    }

    /// <summary>The region's indicator (H, W): 1 on its pixels, 0 elsewhere.</summary>
    /// <param name="region">The region.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="device">Device.</param>
    public static Tensor RegionWeights(ImageRegion region, ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(region);
        var weights = new double[region.Height * region.Width];
        foreach (var pixel in region.Pixels) weights[pixel] = 1.0;
        using var scope = NewDisposeScope();
        return tensor(weights, dtype: dtype, device: device).reshape(region.Height, region.Width).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Evaluates <paramref name="total"/> items in chunks of at most <paramref name="maxBatchSize"/> and concatenates
    /// the (count) results. Without a bound everything is tried in one chunk, and a chunk that runs out of device
    /// memory is halved and retried, so the largest batch that fits is used.
    /// </summary>
    /// <param name="total">Number of items.</param>
    /// <param name="maxBatchSize">Fixed chunk size, or null for "as large as memory allows".</param>
    /// <param name="evaluate">Evaluates items [start, start + count) and returns a (count) tensor.</param>
    public static Tensor EvaluateInChunks(long total, int? maxBatchSize, Func<long, long, Tensor> evaluate)
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

    private static Tensor Ensemble(IAutoregressiveImageModel model, Tensor x, IReadOnlyList<GenerationOrder> orders, Tensor? pixelWeights,
        int? maxBatchSize)
    {
        using var scope = NewDisposeScope();
        if (orders is not null && orders.Count > 0 && orders.All(o => o is not null && o.Equals(orders[0])))
            return PerOrder(model, x, new[] { orders[0] }, pixelWeights, maxBatchSize).select(1, 0).MoveToOuterDisposeScope();
        return OrderEnsemble.Mix(PerOrder(model, x, orders!, pixelWeights, maxBatchSize)).MoveToOuterDisposeScope();
    }
}
