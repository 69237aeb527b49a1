using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// Positional normalization (PONO, Li et al. 2019): every pixel's feature vector is normalized over the
/// channel dimension to zero mean and unit variance. It has no learned parameters and, being per pixel,
/// never mixes information between pixels, so it keeps a network autoregressive.
/// </summary>
public static class PositionalNormalization
{
    /// <summary>The constant added to the variance, as in the reference implementation.</summary>
    public const double Epsilon = 1e-5;

    /// <summary>
    /// Normalizes <paramref name="x"/> over dimension 1: (x - mean) / sqrt(var + 1e-5), where var is the
    /// unbiased variance (divides by channels - 1), exactly as <c>torch.var</c>'s default in the reference code.
    /// Works on feature maps (N, C, H, W) and on the features of single pixels (N, C).
    /// </summary>
    /// <param name="x">Features of shape (N, C, ...) with C &gt;= 2.</param>
    /// <returns>The normalized features, same shape, device and dtype.</returns>
    public static Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2 || x.shape[1] < 2)
            throw new ArgumentException($"Expected features of shape (N, C, ...) with C >= 2, got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        bool perPixelMaps = x.dim() > 2;
        var channelsLast = perPixelMaps ? x.movedim(new long[] { 1 }, new long[] { -1 }) : x;
        var normalized = NormalizeLastDimension(channelsLast);
        var result = perPixelMaps ? normalized.movedim(new long[] { -1 }, new long[] { 1 }).contiguous() : normalized;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// PONO over the last dimension, without checks: one fused layer_norm instead of mean, var, sub, add, sqrt and div
    /// (each a pass with its own backward). With C channels, (x - mean) / sqrt(var_unbiased + eps) equals
    /// sqrt((C-1)/C) * (x - mean) / sqrt(var_biased + eps (C-1)/C), and layer_norm computes the latter. The cached
    /// sampler calls this directly on (N, C) features, dozens of times per generated pixel.
    /// </summary>
    internal static Tensor NormalizeLastDimension(Tensor channelsLast)
    {
        long channels = channelsLast.shape[^1];
        double shrink = (channels - 1) / (double)channels;
        // In place on layer_norm's own output, which its backward does not keep.
        return nn.functional.layer_norm(channelsLast, new[] { channels }, eps: Epsilon * shrink).TimesInPlace(Math.Sqrt(shrink));
    }
}
