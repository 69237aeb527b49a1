using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// How a picture's bytes become the model's input, deterministically: scaled to [-1, 1] at the model's bit depth
/// (<see cref="PixelScaling.ToSigned"/>), or, for a binary model, thresholded at level <see cref="BinaryWhiteAtLeast"/>
/// (the data sets' dynamic binarization draws each pixel at random, which would speckle a user's picture).
/// </summary>
public static class PictureEncoding
{
    /// <summary>The lowest level that a binary model sees as white (+1).</summary>
    public const int BinaryWhiteAtLeast = 128;

    /// <summary>What the quantization does, for the line about each picture; empty for 8-bit inputs.</summary>
    /// <param name="encoding">The model's input encoding.</param>
    /// <param name="bits">The model's bit depth.</param>
    public static string Describe(InputEncoding encoding, int bits) => encoding == InputEncoding.DynamicBinarization
        ? $"binarized (levels {BinaryWhiteAtLeast}-255 white, below black)"
        : bits < 8 ? $"reduced to {bits} bits" : string.Empty;

    /// <summary>Encodes (C, H, W) byte planes as a batch (N, C, H, W) in [-1, 1] of the given dtype on the given device.</summary>
    /// <param name="planes">One array of C * H * W bytes per image.</param>
    /// <param name="shape">(C, H, W).</param>
    /// <param name="encoding">The model's input encoding.</param>
    /// <param name="bits">The model's bit depth.</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="device">The model's device.</param>
    public static Tensor Encode(IReadOnlyList<byte[]> planes, (int Channels, int Height, int Width) shape, InputEncoding encoding, int bits,
        ScalarType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(planes);
        int size = shape.Channels * shape.Height * shape.Width;
        var bytes = new byte[planes.Count * size];
        for (int i = 0; i < planes.Count; i++)
        {
            if (planes[i].Length != size) throw new ArgumentException($"Image {i} has {planes[i].Length} bytes; expected {size}.", nameof(planes));
            planes[i].CopyTo(bytes, i * size);
        }
        var dims = new long[] { planes.Count, shape.Channels, shape.Height, shape.Width };
        using var scope = NewDisposeScope();
        if (encoding == InputEncoding.DynamicBinarization)
        {
            var signs = bytes.Select(b => b >= BinaryWhiteAtLeast ? 1f : -1f).ToArray();
            return tensor(signs, dims).to(dtype, device).MoveToOuterDisposeScope();
        }
        return PixelScaling.ToSigned(tensor(bytes, dims), dtype, bits).to(device).MoveToOuterDisposeScope();
    }
}
