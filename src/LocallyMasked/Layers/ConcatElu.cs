using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The concatenated ELU of PixelCNN++: elu(concat([x, -x], channels)). It doubles the channel count and,
/// unlike a plain ELU, keeps the information of both signs.
/// </summary>
public static class ConcatElu
{
    /// <summary>Applies elu(concat([x, -x], dim 1)) with alpha = 1.</summary>
    /// <param name="x">Features of shape (N, C, ...).</param>
    /// <returns>Features of shape (N, 2C, ...).</returns>
    public static Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2)
            throw new ArgumentException($"Expected features of shape (N, C, ...), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        var doubled = cat(new[] { x, -x }, 1);
        return doubled.Elu().MoveToOuterDisposeScope();
    }
}
