using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Data;

/// <summary>Data sets from images of any source: a tensor, or a list of byte arrays.</summary>
public sealed partial class ImageDataset
{
    /// <summary>
    /// A data set from a tensor of 8-bit images laid out (N, C, H, W): dtype uint8, or any integer dtype whose values
    /// all lie in 0..255 (checked). Channel-last data (N, H, W, C) must be permuted first (<c>x.permute(0, 3, 1, 2)</c>);
    /// floating-point images must be turned into bytes first (for [-1, 1]: <see cref="PixelScaling.ToBytes"/>; for
    /// [0, 1]: <c>(x * 255).round().to(uint8)</c>). The bytes are copied; the tensor may live on any device.
    /// </summary>
    /// <param name="images">The images, (N, C, H, W), N at least 1.</param>
    /// <param name="labels">One label per image, or null for all zero (the models here are unconditional).</param>
    /// <param name="name">A name for messages.</param>
    public static ImageDataset FromTensor(Tensor images, IReadOnlyList<byte>? labels = null, string name = "tensor")
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4)
            throw new ArgumentException(
                $"{name}: expected images of shape (N, C, H, W), got shape [{string.Join(", ", images.shape)}].", nameof(images));
        var (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3]);
        if (n < 1 || c < 1 || h < 1 || w < 1)
            throw new ArgumentException($"{name}: expected at least one image with positive sizes, got shape [{n}, {c}, {h}, {w}].", nameof(images));
        if (images.dtype is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64
            or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64 or ScalarType.Bool)
            throw new ArgumentException(
                $"{name}: expected 8-bit image values (uint8, or integers 0..255), got {images.dtype}; convert first, e.g. " +
                "PixelScaling.ToBytes(x) for values in [-1, 1] or (x * 255).round().to(uint8) for values in [0, 1].", nameof(images));
        if (n * c * h * w > int.MaxValue)
            throw new ArgumentException($"{name}: {n * c * h * w} bytes is more than one data set holds (2^31 - 1).", nameof(images));

        using var scope = NewDisposeScope();
        var cpu = images.detach().cpu();
        if (cpu.dtype != ScalarType.Byte)
        {
            long min = cpu.min().to_type(ScalarType.Int64).item<long>();
            long max = cpu.max().to_type(ScalarType.Int64).item<long>();
            if (min < 0 || max > 255)
                throw new ArgumentException($"{name}: pixel values must lie in 0..255, found {min}..{max}.", nameof(images));
            cpu = cpu.to_type(ScalarType.Byte);
        }
        var bytes = cpu.contiguous().data<byte>().ToArray();
        return new ImageDataset(bytes, Labels(labels, (int)n, name), (int)c, (int)h, (int)w, name);
    }

    /// <summary>
    /// A data set from one byte array per image, each holding channels * height * width bytes laid out (C, H, W)
    /// (all of a grey image's rows, or the red, green and blue planes one after the other). The bytes are copied.
    /// </summary>
    /// <param name="images">The images, at least one.</param>
    /// <param name="channels">Channels per image.</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="labels">One label per image, or null for all zero.</param>
    /// <param name="name">A name for messages.</param>
    public static ImageDataset FromImages(IReadOnlyList<byte[]> images, int channels, int height, int width,
        IReadOnlyList<byte>? labels = null, string name = "images")
    {
        ArgumentNullException.ThrowIfNull(images);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"{name}: expected positive channels, height and width, got {channels}, {height}, {width}.");
        if (images.Count == 0) throw new ArgumentException($"{name}: expected at least one image, got none.", nameof(images));
        long imageSize = (long)channels * height * width;
        if (imageSize * images.Count > int.MaxValue)
            throw new ArgumentException($"{name}: {imageSize * images.Count} bytes is more than one data set holds (2^31 - 1).", nameof(images));
        var pixels = new byte[imageSize * images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentException($"{name}: image {i} is null.", nameof(images));
            if (image.Length != imageSize)
                throw new ArgumentException(
                    $"{name}: image {i} has {image.Length} bytes; a {channels}x{height}x{width} image (C, H, W) has {imageSize}.", nameof(images));
            image.CopyTo(pixels, i * imageSize);
        }
        return new ImageDataset(pixels, Labels(labels, images.Count, name), channels, height, width, name);
    }

    private static byte[] Labels(IReadOnlyList<byte>? labels, int count, string name)
    {
        if (labels is null) return new byte[count];
        if (labels.Count != count)
            throw new ArgumentException($"{name}: {labels.Count} labels for {count} images; give one label per image (or none).", nameof(labels));
        return labels.ToArray();
    }
}
