using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Data;

/// <summary>Turns 8-bit image bytes into the model's inputs.</summary>
public static class PixelScaling
{
    /// <summary>
    /// Scales bytes to [-1, 1] by x / 255 * 2 - 1 (so 0 maps to -1 and 255 to 1 exactly, the bin centres of the
    /// discretized likelihood). With fewer bits the byte is first reduced to its top <paramref name="bits"/> bits,
    /// floor(x / 2^(8 - bits)), and that level scaled by 2 / (2^bits - 1) (5-bit CelebA-HQ, for example).
    /// </summary>
    /// <param name="bytes">A uint8 tensor of any shape.</param>
    /// <param name="dtype">The floating-point type of the result.</param>
    /// <param name="bits">The model's bit depth, 1 to 8.</param>
    public static Tensor ToSigned(Tensor bytes, ScalarType dtype = ScalarType.Float32, int bits = 8)
    {
        if (bits is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Byte images hold 1 to 8 bits.");
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.dtype != ScalarType.Byte)
            throw new ArgumentException($"Expected a uint8 tensor, got {bytes.dtype}.", nameof(bytes));
        if (!IsFloatingPoint(dtype))
            throw new ArgumentException($"Expected a floating-point dtype, got {dtype}.", nameof(dtype));
        using var scope = NewDisposeScope();
        if (bits == 8) return bytes.to_type(dtype).DividedBy(255.0).Times(2.0).Minus(1.0).MoveToOuterDisposeScope();
        var levels = bytes.to_type(ScalarType.Float64).DividedBy(Math.Pow(2, 8 - bits)).floor();
        return levels.DividedBy(Math.Pow(2, bits) - 1).Times(2.0).Minus(1.0).to_type(dtype).MoveToOuterDisposeScope();
    }

    private static bool IsFloatingPoint(ScalarType dtype) =>
        dtype is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    /// <summary>
    /// Dynamic binarization: each pixel becomes +1 with probability equal to its intensity (byte / 255) and -1 otherwise,
    /// decided by comparing the intensity with the given uniforms (explicit so that draws are reproducible).
    /// </summary>
    /// <param name="bytes">A uint8 tensor.</param>
    /// <param name="uniforms">Uniform draws in [0, 1), the same shape as <paramref name="bytes"/>.</param>
    /// <param name="dtype">The floating-point type of the result.</param>
    public static Tensor Binarize(Tensor bytes, Tensor uniforms, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(uniforms);
        if (bytes.dtype != ScalarType.Byte)
            throw new ArgumentException($"Expected a uint8 tensor, got {bytes.dtype}.", nameof(bytes));
        if (!bytes.shape.SequenceEqual(uniforms.shape))
            throw new ArgumentException(
                $"Expected uniforms of shape [{string.Join(", ", bytes.shape)}], got [{string.Join(", ", uniforms.shape)}].", nameof(uniforms));
        if (!IsFloatingPoint(dtype))
            throw new ArgumentException($"Expected a floating-point dtype, got {dtype}.", nameof(dtype));
        using var scope = NewDisposeScope();
        var intensity = bytes.to_type(ScalarType.Float64).DividedBy(255.0);
        var on = uniforms.to(intensity.device).to_type(ScalarType.Float64).lt(intensity);
        return on.to_type(dtype).Times(2.0).Minus(1.0).MoveToOuterDisposeScope();
    }

    /// <summary>Maps model inputs in [-1, 1] back to bytes (rounding to the nearest of the 256 levels).</summary>
    /// <param name="signed">A floating-point tensor with values in [-1, 1].</param>
    public static Tensor ToBytes(Tensor signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        if (!signed.is_floating_point())
            throw new ArgumentException($"Expected a floating-point tensor, got {signed.dtype}.", nameof(signed));
        using var scope = NewDisposeScope();
        return signed.Plus(1.0).Times(127.5).round().ClampedTo(0, 255).to_type(ScalarType.Byte).MoveToOuterDisposeScope();
    }
}
