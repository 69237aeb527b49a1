using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// The argument checks every <see cref="IAutoregressiveImageModel"/> makes on images and orders, in one place, for code
/// that takes a model (a trainer, an evaluation, a sampler) and refuses bad input the way the model would, before it
/// starts working.
/// </summary>
public static class ModelInputs
{
    /// <summary>Checks shape, dtype, device and value range of an input batch.</summary>
    /// <param name="model">The model the images are for.</param>
    /// <param name="x">Images (N, C, H, W) in [-1, 1].</param>
    /// <param name="argumentName">The caller's argument name.</param>
    public static void CheckImages(IAutoregressiveImageModel model, Tensor x, string argumentName)
    {
        if (x is null) throw new ArgumentNullException(argumentName);
        var config = model.Configuration;
        if (x.dim() != 4 || x.shape[1] != config.ImageChannels || x.shape[2] != config.Height || x.shape[3] != config.Width)
            throw new ArgumentException(
                $"Expected images of shape (N, {config.ImageChannels}, {config.Height}, {config.Width}), got ({string.Join(", ", x.shape)}).", argumentName);
        if (x.shape[0] < 1) throw new ArgumentException("Expected at least one image.", argumentName);
        var dtype = model.DType;
        if (x.dtype != dtype)
            throw new ArgumentException($"Expected images of dtype {dtype} (the model's), got {x.dtype}.", argumentName);
        var device = model.Device;
        if (!DeviceEquality.Same(x.device, device))
            throw new ArgumentException($"Expected images on {device} (the model's device), got {x.device}.", argumentName);
        using var scope = NewDisposeScope();
        if (!x.abs().LessOrEqual(1.0).all().item<bool>())
            throw new ArgumentException("Pixel values must lie in [-1, 1] (images are scaled from [0, 2^bits - 1] to [-1, 1]).", argumentName);
    }

    /// <summary>
    /// Checks a list of orders: at least one, no null, all of the model's image size, and each one the model supports
    /// (a raster-only model refuses any other order, naming it).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="argumentName">The caller's argument name.</param>
    public static void CheckOrders(IAutoregressiveImageModel model, IReadOnlyList<GenerationOrder> orders, string argumentName)
    {
        var config = model.Configuration;
        OrderArguments.Check(orders, argumentName, config.Height, config.Width);
        for (int i = 0; i < orders.Count; i++)
            if (!model.SupportsOrder(orders[i])) throw Unsupported(model, orders[i], orders.Count == 1 ? null : i, argumentName);
    }

    /// <summary>Checks one order (size, and support).</summary>
    /// <param name="model">The model.</param>
    /// <param name="order">The order.</param>
    /// <param name="argumentName">The caller's argument name.</param>
    public static void CheckOrder(IAutoregressiveImageModel model, GenerationOrder order, string argumentName)
    {
        if (order is null) throw new ArgumentNullException(argumentName);
        var config = model.Configuration;
        if (order.Height != config.Height || order.Width != config.Width)
            throw new ArgumentException(
                $"The order is for {order.Height}x{order.Width} images but the model is configured for {config.Height}x{config.Width}.", argumentName);
        if (!model.SupportsOrder(order)) throw Unsupported(model, order, null, argumentName);
    }

    private static ArgumentException Unsupported(IAutoregressiveImageModel model, GenerationOrder order, int? index, string argumentName)
    {
        string which = $"{(index is { } i ? $"order {i}, " : "")}{order}";
        var anyOrder = ModelCatalog.Models.First(d => d.TakesAnyOrder);
        return new(ModelCatalog.Get(model.Kind).OrderRestriction is { } restriction
                ? $"{restriction}; got {which}. Use {anyOrder.ModelType.Name} for other orders."
                : $"The model does not support {which}.",
            argumentName);
    }
}
