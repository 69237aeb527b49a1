using LocallyMasked.Likelihoods;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// An autoregressive image model: p(x) = prod_t p(x_{order[t]} | the pixels before it in a generation order). Both models
/// of the library implement it: <see cref="LocallyMaskedPixelCnn"/> (any order of its image size) and
/// <see cref="PixelCnnPlusPlus"/> (raster order only). Training, evaluation, naive sampling and checkpoints work through
/// it, so that both models share that code.
/// </summary>
/// <remarks>
/// Every method that takes orders checks them against <see cref="SupportedOrders"/>: asking a raster-only model for
/// another order is an <see cref="ArgumentException"/> naming that order. Images are (N, C, H, W) in [-1, 1] (binary
/// images as -1 / +1) on the model's device and dtype.
/// </remarks>
public interface IAutoregressiveImageModel : IDisposable
{
    /// <summary>Which model this is (recorded in training checkpoints as the model's type).</summary>
    ModelKind Kind { get; }

    /// <summary>The model as a TorchSharp module: its parameters, state dict, train/eval mode and device moves.</summary>
    nn.Module Module { get; }

    /// <summary>The configuration the model was built with (its JSON is what training checkpoints record).</summary>
    IImageModelConfig Configuration { get; }

    /// <summary>The per-pixel output distribution of the configured head.</summary>
    PixelLikelihood Likelihood { get; }

    /// <summary>Device of the parameters.</summary>
    Device Device { get; }

    /// <summary>Element type of the parameters.</summary>
    ScalarType DType { get; }

    /// <summary>
    /// The only orders the model can use, or null when it takes any order of its image size. A PixelCNN++ returns
    /// exactly one: the raster order.
    /// </summary>
    IReadOnlyList<GenerationOrder>? SupportedOrders { get; }

    /// <summary>
    /// The precision the products of this model's evaluations compute in (convolutions, 1x1 layers): for a model itself
    /// <see cref="ComputePrecision.Float32"/> (its parameters' dtype); for <see cref="WithPrecision"/>'s views the
    /// precision they were made with.
    /// </summary>
    ComputePrecision Precision { get; }

    /// <summary>
    /// The same model (the same module and parameters) evaluated with its products in <paramref name="precision"/>:
    /// every method of the returned model, and every sampler, evaluation or trainer objective given it, computes in that
    /// precision. The returned view does not own the model: disposing it does nothing. For
    /// <see cref="ComputePrecision.Float32"/> the model itself.
    /// </summary>
    /// <param name="precision">The compute precision.</param>
    /// <exception cref="ArgumentException">A mixed precision for a model whose parameters are not float32.</exception>
    IAutoregressiveImageModel WithPrecision(ComputePrecision precision);

    /// <summary>Whether <paramref name="order"/> is one the model can use (of its image size, and among <see cref="SupportedOrders"/> when that is set).</summary>
    /// <param name="order">An order.</param>
    bool SupportsOrder(GenerationOrder order);

    /// <summary>
    /// The distribution parameters of every pixel: those of pixel p depend only on the pixels before p in the order
    /// (what a naive sampler reads at the pixel it generates).
    /// </summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="orders">One order shared by the batch, or N orders (image i under orders[i]).</param>
    /// <param name="dropout">The CPU generator the model's dropout draws from in training mode (a trainer passes one per
    /// step and shard, so that the draws repeat); torch's global generator when null.</param>
    /// <returns>(N, M, H, W), M = <see cref="IImageModelConfig.ParameterChannels"/>.</returns>
    Tensor DistributionParameters(Tensor x, IReadOnlyList<GenerationOrder> orders, Generator? dropout = null);

    /// <summary>Log-likelihood in nats of every pixel (summed over its channels) under one order shared by the batch.</summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="order">The generation order.</param>
    /// <returns>(N, H, W).</returns>
    Tensor LogLikelihoodPerPixel(Tensor x, GenerationOrder order);

    /// <summary>Log-likelihood in nats of every image under one order.</summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="order">The generation order.</param>
    /// <returns>(N).</returns>
    Tensor LogLikelihood(Tensor x, GenerationOrder order);

    /// <summary>Log-likelihood in nats of every image, image i under <paramref name="orders"/>[i].</summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="orders">N orders.</param>
    /// <returns>(N).</returns>
    Tensor LogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders);

    /// <summary>
    /// Log-likelihood in nats of every image under every order: entry (n, k) is log p(x_n) under <paramref name="orders"/>[k].
    /// Each distinct order is evaluated once (a repeated order's columns are equal).
    /// </summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="orders">The K orders.</param>
    /// <param name="maxBatchSize">Most image x distinct-order pairs per network pass; null tries all at once and halves while the device runs out of memory.</param>
    /// <returns>(N, K).</returns>
    Tensor PerOrderLogLikelihoods(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null);

    /// <summary>
    /// Log-likelihood in nats of every image under the uniform mixture of the orders (the order ensemble: logsumexp over the
    /// list minus log K, so a repeated order weighs as often as it is listed; one order, however often listed: that order's).
    /// </summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="orders">The orders.</param>
    /// <param name="maxBatchSize">As for <see cref="PerOrderLogLikelihoods"/>.</param>
    /// <returns>(N).</returns>
    Tensor EnsembleLogLikelihood(Tensor x, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null);

    /// <summary>
    /// Log-likelihood in nats of a region's pixels given what the model can condition on, mixed uniformly over the
    /// orders. A model that takes any order moves each order's region to its end (every other pixel is observed first);
    /// a raster-only model cannot, and scores the region given the pixels that precede each region pixel in raster order.
    /// </summary>
    /// <param name="x">Images (N, C, H, W).</param>
    /// <param name="region">The region to score.</param>
    /// <param name="orders">The base orders.</param>
    /// <param name="maxBatchSize">As for <see cref="PerOrderLogLikelihoods"/>.</param>
    /// <returns>(N).</returns>
    Tensor RegionLogLikelihood(Tensor x, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int? maxBatchSize = null);
}
