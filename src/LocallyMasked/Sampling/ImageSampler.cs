using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// Generates images pixel by pixel with an autoregressive image model, in any order it supports: whole images, or the
/// missing region of partly observed images. Observed pixels are never changed.
/// </summary>
/// <remarks>
/// Both implementations consume the same random draws for the same seed, so they produce the same
/// images; <see cref="CachedSampler"/> is the fast one (Locally Masked PixelCNN++ only), <see cref="NaiveSampler"/> the
/// reference (any <see cref="IAutoregressiveImageModel"/>, the PixelCNN++ baseline included, which has only the raster
/// order). The model is switched to evaluation mode for the call and restored afterwards.
/// </remarks>
public abstract class ImageSampler
{
    private protected ImageSampler(IAutoregressiveImageModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
    }

    /// <summary>The model that is sampled.</summary>
    public IAutoregressiveImageModel Model { get; }

    /// <summary>Creates a sampler of the given kind for <paramref name="model"/>.</summary>
    /// <param name="kind">Naive (reference, any model) or cached (fast, <see cref="LocallyMaskedPixelCnn"/> only).</param>
    /// <param name="model">The model to sample from; a model's <see cref="IAutoregressiveImageModel.WithPrecision"/> view
    /// samples with its products in that precision.</param>
    /// <exception cref="ArgumentException">The cached sampler is asked for a model that is not a <see cref="LocallyMaskedPixelCnn"/>.</exception>
    public static ImageSampler Create(SamplerKind kind, IAutoregressiveImageModel model) => kind switch
    {
        SamplerKind.Naive => new NaiveSampler(model),
        SamplerKind.Cached => model switch
        {
            LocallyMaskedPixelCnn locallyMasked => new CachedSampler(locallyMasked),
            ModelInPrecision { Model: LocallyMaskedPixelCnn locallyMasked } view => new CachedSampler(locallyMasked, view.Precision),
            null => throw new ArgumentNullException(nameof(model)),
            _ => throw new ArgumentException(
                $"The cached sampler works with LocallyMaskedPixelCnn models only (its caches follow locally masked convolutions at one "
                + $"pixel; a {model.Kind} model's shifted, strided convolutions would need a cache design of their own): use SamplerKind.Naive.",
                nameof(model)),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Expected SamplerKind.Naive or SamplerKind.Cached."),
    };

    /// <summary>Samples <paramref name="count"/> images, every pixel generated in <paramref name="order"/>.</summary>
    /// <param name="order">The generation order, of the model's image size.</param>
    /// <param name="count">The number of images; at least 1.</param>
    /// <param name="options">Temperature, seed, step observer; defaults when null.</param>
    /// <returns>Images (count, C, H, W) in [-1, 1], on the model's device and dtype.</returns>
    public Tensor Sample(GenerationOrder order, int count, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Expected at least one image.");
        return Sample(Enumerable.Repeat(order, count).ToArray(), options);
    }

    /// <summary>Samples one image per order: image i is generated in <paramref name="orders"/>[i].</summary>
    /// <param name="orders">One order per image, of the model's image size.</param>
    /// <param name="options">Temperature, seed, step observer; defaults when null.</param>
    /// <returns>Images (orders.Count, C, H, W) in [-1, 1], on the model's device and dtype.</returns>
    public Tensor Sample(IReadOnlyList<GenerationOrder> orders, SamplingOptions? options = null)
    {
        ValidateOrders(orders, nameof(orders));
        return Generate(orders, null, null, options ?? new SamplingOptions());
    }

    /// <summary>
    /// Completes a region of each image given the other pixels, generating the region's pixels in the
    /// order they take in <paramref name="order"/>. To condition on all observed pixels, as the authors do,
    /// pass an order that generates the region last (<see cref="GenerationOrder.WithRegionLast"/>). A raster-only model
    /// (PixelCNN++) takes only the raster order: it generates the region in raster order conditioned on the pixels
    /// before each region pixel, not on the observed pixels after it.
    /// </summary>
    /// <param name="images">Images (N, C, H, W) in [-1, 1]; values inside the region are ignored.</param>
    /// <param name="region">The pixels to generate.</param>
    /// <param name="order">The generation order, shared by the images.</param>
    /// <param name="options">Temperature, seed, step observer; defaults when null.</param>
    /// <returns>Completed images (N, C, H, W): observed pixels unchanged, the region sampled.</returns>
    public Tensor Complete(Tensor images, ImageRegion region, GenerationOrder order, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(order);
        if (images.dim() < 1)
            throw new ArgumentException($"Expected images (N, C, H, W), got shape ({string.Join(", ", images.shape)}).", nameof(images));
        return Complete(images, region, Enumerable.Repeat(order, (int)images.shape[0]).ToArray(), options);
    }

    /// <summary>Completes a region of each image, image i generated in <paramref name="orders"/>[i].</summary>
    /// <param name="images">Images (N, C, H, W) in [-1, 1]; values inside the region are ignored.</param>
    /// <param name="region">The pixels to generate.</param>
    /// <param name="orders">N orders.</param>
    /// <param name="options">Temperature, seed, step observer; defaults when null.</param>
    /// <returns>Completed images (N, C, H, W).</returns>
    public Tensor Complete(Tensor images, ImageRegion region, IReadOnlyList<GenerationOrder> orders, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(region);
        ValidateOrders(orders, nameof(orders));
        ModelInputs.CheckImages(Model, images, nameof(images));
        if (images.shape[0] != orders.Count)
            throw new ArgumentException($"Expected one order per image: {images.shape[0]} images, {orders.Count} orders.", nameof(orders));
        var config = Model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException(
                $"The region is for {region.Height}x{region.Width} images, the model for {config.Height}x{config.Width}.", nameof(region));
        return Generate(orders, images, region, options ?? new SamplingOptions());
    }

    /// <summary>
    /// Completes the pixels that <paramref name="missing"/> marks, any set of them, given every other pixel: a model that
    /// takes any order generates them last, in the order they take in <paramref name="order"/> (the order
    /// <see cref="CompletionOrder"/> gives), so that each missing pixel sees every observed one. A raster-only model
    /// (PixelCNN++) generates them in its raster order, each given the pixels before it. A mask of only missing pixels
    /// samples whole images (the images <see cref="Sample(GenerationOrder, int, SamplingOptions?)"/> draws with the same seed).
    /// </summary>
    /// <param name="images">Images (N, C, H, W) in [-1, 1]; values at the missing pixels are ignored.</param>
    /// <param name="missing">The pixels to generate: an (H, W) tensor of the model's size, bool or 0/1 (1: missing), on any device.</param>
    /// <param name="order">The base order, one the model supports.</param>
    /// <param name="options">Temperature, seed, step observer; defaults when null.</param>
    /// <returns>Completed images (N, C, H, W): observed pixels unchanged, the missing ones sampled.</returns>
    /// <exception cref="ArgumentException">A mask that is not (H, W) of the model's size, holds a value other than 0 and 1, or marks
    /// no pixel as missing; images or an order that do not fit the model.</exception>
    public Tensor Complete(Tensor images, Tensor missing, GenerationOrder order, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentNullException.ThrowIfNull(order);
        var region = ImageRegion.FromMask(missing);
        var config = Model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException(
                $"The mask is {region.Height}x{region.Width}, the model's images {config.Height}x{config.Width}.", nameof(missing));
        if (region.Pixels.Count == 0)
            throw new ArgumentException("The mask marks no pixel as missing: there is nothing to complete.", nameof(missing));
        return Complete(images, region, CompletionOrder(order, region), options);
    }

    /// <summary>
    /// The order in which <see cref="Complete(Tensor, Tensor, GenerationOrder, SamplingOptions?)"/> generates a region:
    /// for a model that takes any order, <paramref name="order"/> with the region's pixels moved to its end
    /// (<see cref="GenerationOrder.WithRegionLast"/>: every pixel outside the region comes before every pixel in it); for a
    /// model restricted to some orders, <paramref name="order"/> itself (the region's pixels see only the pixels before
    /// them), as the region likelihoods do.
    /// </summary>
    /// <param name="order">The base order, of the model's size and supported by it.</param>
    /// <param name="region">The region to generate, of the model's size.</param>
    /// <exception cref="ArgumentException">An order or region of another size, or an order the model does not support.</exception>
    public GenerationOrder CompletionOrder(GenerationOrder order, ImageRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        ModelInputs.CheckOrder(Model, order, nameof(order));
        var config = Model.Configuration;
        if (region.Height != config.Height || region.Width != config.Width)
            throw new ArgumentException(
                $"The region is for {region.Height}x{region.Width} images, the model for {config.Height}x{config.Width}.", nameof(region));
        return Model.SupportedOrders is null ? order.WithRegionLast(region.Pixels) : order;
    }

    private Tensor Generate(IReadOnlyList<GenerationOrder> orders, Tensor? images, ImageRegion? region, SamplingOptions options)
    {
        if (!(options.Temperature > 0) || double.IsInfinity(options.Temperature))
            throw new ArgumentOutOfRangeException(nameof(options), options.Temperature, "Expected a finite positive temperature.");
        if (options.CpuThreads is < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.CpuThreads, "Expected at least one CPU thread (or null to leave libtorch's setting).");
        var module = Model.Module;
        bool wasTraining = module.training;
        module.eval();
        try
        {
            using var noGrad = no_grad();
            using var plan = SamplingPlan.Create(Model, orders, images, region, options);
            return Run(plan, options);
        }
        finally
        {
            if (wasTraining) module.train();
        }
    }

    /// <summary>Runs the plan's steps and returns the images (owned by the caller's dispose scope).</summary>
    private protected abstract Tensor Run(SamplingPlan plan, SamplingOptions options);

    private void ValidateOrders(IReadOnlyList<GenerationOrder> orders, string argumentName) =>
        ModelInputs.CheckOrders(Model, orders, argumentName);

    /// <summary>
    /// Writes one value per image into (N, C, H*W)-shaped <paramref name="flat"/> at pixel <paramref name="index"/>[i] (N, 1, 1),
    /// keeping the old value where <paramref name="generated"/>[i] is false.
    /// </summary>
    private protected static void WritePixels(Tensor flat, Tensor index, Tensor values, Tensor? generated)
    {
        using var scope = NewDisposeScope();
        var target = index.expand(flat.shape[0], flat.shape[1], 1);
        var update = values.unsqueeze(2);
        if (generated is not null) update = where(generated.view(-1, 1, 1), update, flat.gather(2, target));
        flat.scatter_(2, target, update);
    }
}
