using System.Globalization;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// An image file whose header claims more pixels than --max-image-pixels allows (<see cref="ImageFileDecoder"/>): refused
/// before its pixels are decoded. The message names the file, its size, the limit and the option that raises it.
/// </summary>
public sealed class ImageTooLargeException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="file">The file, as messages name it.</param>
    /// <param name="width">The width its header claims.</param>
    /// <param name="height">The height its header claims.</param>
    /// <param name="maxPixels">The limit.</param>
    public ImageTooLargeException(string file, int width, int height, long maxPixels)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"{file} is {height}x{width} pixels (HxW, {(long)width * height:N0} pixels), more than --max-image-pixels {maxPixels} allows; " +
            $"shrink the image, or raise --max-image-pixels to {(long)width * height} if the memory it needs ({4 * (long)width * height / (1 << 20):N0} MiB to decode) is there"))
    {
        File = file;
        Width = width;
        Height = height;
        MaxPixels = maxPixels;
    }

    /// <summary>The file.</summary>
    public string File { get; }

    /// <summary>The width its header claims.</summary>
    public int Width { get; }

    /// <summary>The height its header claims.</summary>
    public int Height { get; }

    /// <summary>The limit it exceeds.</summary>
    public long MaxPixels { get; }
}
