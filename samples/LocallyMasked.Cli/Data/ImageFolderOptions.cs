namespace LocallyMasked.Cli.Data;

/// <summary>How a folder of images becomes a data set.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>Target height (with <see cref="Width"/>): images are cropped centrally to this aspect ratio, then resized. Null: the images' own size.</summary>
    public int? Height { get; init; }

    /// <summary>Target width.</summary>
    public int? Width { get; init; }

    /// <summary>1 (grey) or 3 (RGB); null: 1 if the first decodable image is grey, else 3.</summary>
    public int? Channels { get; init; }

    /// <summary>The share of images held out for testing when the folder has no test/ subfolder; null: 0.1.</summary>
    public double? TestFraction { get; init; }

    /// <summary>The default of <see cref="MaxImagePixels"/>: 8192 x 8192 pixels, 256 MiB decoded as RGBA.</summary>
    public const long DefaultMaxImagePixels = 8192L * 8192;

    /// <summary>
    /// The most pixels (width x height, from the file's header, before anything is decoded) an image file may have;
    /// a file that claims more is refused, naming --max-image-pixels. At least 1.
    /// </summary>
    public long MaxImagePixels { get; init; } = DefaultMaxImagePixels;

    /// <summary>The seed that chooses the held-out images.</summary>
    public ulong Seed { get; init; } = 1;
}
