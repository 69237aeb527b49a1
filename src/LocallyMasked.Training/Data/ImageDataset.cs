using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Data;

/// <summary>
/// A set of 8-bit images with their labels, kept as raw bytes in managed memory (channel-major,
/// (N, C, H, W)); batches are copied to tensors on demand so that a data set never pins device memory.
/// </summary>
public sealed partial class ImageDataset
{
    private readonly byte[] pixels;
    private readonly byte[] labels;

    /// <summary>Creates a data set from raw pixel bytes laid out as (count, channels, height, width).</summary>
    /// <param name="pixels">The pixel bytes, count * channels * height * width of them.</param>
    /// <param name="labels">One label per image.</param>
    /// <param name="channels">Channels per image (1 for MNIST, 3 for CIFAR-10).</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="name">A name for messages, such as the file the images came from.</param>
    public ImageDataset(byte[] pixels, byte[] labels, int channels, int height, int width, string name)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (channels <= 0) throw new ArgumentException($"Expected a positive channel count, got {channels}.", nameof(channels));
        if (height <= 0) throw new ArgumentException($"Expected a positive height, got {height}.", nameof(height));
        if (width <= 0) throw new ArgumentException($"Expected a positive width, got {width}.", nameof(width));
        long imageSize = (long)channels * height * width;
        if (imageSize > Array.MaxLength)
            throw new ArgumentException($"A {channels}x{height}x{width} image has {imageSize} bytes, more than an array holds ({Array.MaxLength}).", nameof(height));
        if (pixels.LongLength != imageSize * labels.LongLength)
            throw new ArgumentException(
                $"Expected {labels.LongLength} images of {imageSize} bytes ({labels.LongLength * imageSize} bytes), got {pixels.LongLength}.",
                nameof(pixels));
        this.pixels = pixels;
        this.labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        Name = name ?? string.Empty;
    }

    /// <summary>Number of images.</summary>
    public int Count => labels.Length;

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Where the images came from (for messages).</summary>
    public string Name { get; }

    /// <summary>Bytes per image (channels * height * width).</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>The label of image <paramref name="index"/>.</summary>
    /// <param name="index">Image index in [0, Count).</param>
    public byte Label(int index) => labels[CheckIndex(index)];

    /// <summary>The bytes of image <paramref name="index"/>, laid out (C, H, W).</summary>
    /// <param name="index">Image index in [0, Count).</param>
    public ReadOnlySpan<byte> Image(int index) => pixels.AsSpan(CheckIndex(index) * ImageSize, ImageSize);

    /// <summary>A data set holding the first <paramref name="count"/> images (no copy of the rest).</summary>
    /// <param name="count">How many images to keep, at most <see cref="Count"/>.</param>
    public ImageDataset Take(int count)
    {
        if (count < 0 || count > Count)
            throw new ArgumentException($"Expected a count in [0, {Count}], got {count}.", nameof(count));
        return new ImageDataset(pixels[..(count * ImageSize)], labels[..count], Channels, Height, Width, Name);
    }

    /// <summary>
    /// Copies the chosen images into a uint8 tensor of shape (indices.Count, C, H, W) on <paramref name="device"/>.
    /// </summary>
    /// <param name="indices">Image indices, each in [0, Count).</param>
    /// <param name="device">Target device; CPU when null.</param>
    public Tensor Bytes(IReadOnlyList<int> indices, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        long bytes = (long)indices.Count * ImageSize;
        if (bytes > Array.MaxLength)
            throw new ArgumentException($"{indices.Count} images of {ImageSize} bytes ({bytes} bytes) are more than one batch holds ({Array.MaxLength}).", nameof(indices));
        var buffer = new byte[bytes];
        for (int i = 0; i < indices.Count; i++)
            Image(indices[i]).CopyTo(buffer.AsSpan(i * ImageSize, ImageSize));
        var cpu = tensor(buffer, new long[] { indices.Count, Channels, Height, Width }, ScalarType.Byte);
        if (device is null || device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }

    /// <summary>The labels of the chosen images as an int64 tensor (on the CPU).</summary>
    /// <param name="indices">Image indices, each in [0, Count).</param>
    public Tensor Labels(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var values = new long[indices.Count];
        for (int i = 0; i < values.Length; i++) values[i] = Label(indices[i]);
        return tensor(values, ScalarType.Int64);
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Expected an image index in [0, {Count}).");
        return index;
    }
}
