using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The simplest exact sampler: one full network pass per generated pixel, in the chosen order. Every random draw comes
/// from a <see cref="SeededRandom"/> and is handed to the likelihood head as explicit uniforms, so a seed reproduces a
/// sample exactly. Completion generates only the region's pixels, last (the order is rearranged with
/// <see cref="GenerationOrder.WithRegionLast"/>), and never writes an observed pixel.
/// </summary>
public static class NaiveSampler
{
    /// <summary>Samples whole images.</summary>
    /// <param name="model">The model.</param>
    /// <param name="order">The generation order (of the model's image size).</param>
    /// <param name="count">How many images.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="temperature">Likelihood temperature (1 samples the model exactly).</param>
    /// <param name="progress">Receives the number of pixels generated so far, or null.</param>
    /// <returns>Images (count, C, H, W) in [-1, 1] on the model's device.</returns>
    public static Tensor Sample(LocallyMaskedPixelCnn model, GenerationOrder order, int count, ulong seed, double temperature = 1.0,
        IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(order);
        if (count <= 0) throw new ArgumentException($"Expected a positive image count, got {count}.", nameof(count));
        var c = model.Config;
        using var start = zeros(new long[] { count, c.ImageChannels, c.Height, c.Width }, dtype: model.DType, device: model.Device);
        return Generate(model, start, order, order.Sequence, seed, temperature, progress);
    }

    /// <summary>
    /// Completes a region of each image given the rest: the region's pixels are generated after all observed pixels
    /// (the order with the region moved last); observed pixels are copied unchanged.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="images">Images (N, C, H, W) in [-1, 1]; values inside the region are ignored.</param>
    /// <param name="region">The region to generate.</param>
    /// <param name="order">The base order; the region is moved to its end.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="temperature">Likelihood temperature.</param>
    /// <param name="progress">Receives the number of pixels generated so far, or null.</param>
    /// <returns>The completed images, on the model's device.</returns>
    public static Tensor Complete(LocallyMaskedPixelCnn model, Tensor images, ImageRegion region, GenerationOrder order, ulong seed,
        double temperature = 1.0, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(order);
        if (region.Height != order.Height || region.Width != order.Width)
            throw new ArgumentException($"Expected a region of {order.Height}x{order.Width} pixels like the order, got {region.Height}x{region.Width}.", nameof(region));
        var regionLast = order.WithRegionLast(region.Pixels);
        var toGenerate = regionLast.Sequence.Skip(order.PixelCount - region.Pixels.Count).ToArray();
        using var scope = NewDisposeScope();
        var start = images.to(model.Device).to_type(model.DType);
        return Generate(model, start, regionLast, toGenerate, seed, temperature, progress);
    }

    private static Tensor Generate(LocallyMaskedPixelCnn model, Tensor start, GenerationOrder order, IReadOnlyList<int> pixels,
        ulong seed, double temperature, IProgress<int>? progress)
    {
        var config = model.Config;
        if (order.Height != config.Height || order.Width != config.Width)
            throw new ArgumentException($"Expected an order over {config.Height}x{config.Width} images, got {order.Height}x{order.Width}.", nameof(order));
        if (start.dim() != 4 || start.shape[1] != config.ImageChannels || start.shape[2] != config.Height || start.shape[3] != config.Width)
            throw new ArgumentException(
                $"Expected images of shape (N, {config.ImageChannels}, {config.Height}, {config.Width}), got [{string.Join(", ", start.shape)}].", "images");
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Expected a finite positive temperature.");
        int n = (int)start.shape[0], u = model.Likelihood.UniformsPerPixel;
        var random = new SeededRandom(seed);
        var draws = new float[n * u];
        var x = start.clone().DetachFromDisposeScope();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var masks = model.MasksFor(order);
            for (int i = 0; i < pixels.Count; i++)
            {
                using var scope = NewDisposeScope();
                int row = pixels[i] / config.Width, column = pixels[i] % config.Width;
                var parameters = model.forward(x, masks).select(2, row).select(2, column).reshape(n, -1, 1, 1);
                random.FillUniform(draws);
                var uniforms = tensor(draws, new long[] { n, u, 1, 1 }).to(model.Device);
                var value = model.Likelihood.Sample(parameters, uniforms, temperature);
                x.select(2, row).select(2, column).copy_(value.reshape(n, config.ImageChannels));
                progress?.Report(i + 1);
            }
        }
        catch
        {
            x.Dispose();
            throw;
        }
        finally
        {
            model.train(wasTraining);
        }
        return x;
    }
}
