using System.CommandLine;
using System.Globalization;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>
/// The options about where data comes from: --data and --dataset, downloading (--download, --mirror) and folders of
/// images (--size, --channels, --test-fraction), plus the bit depth (--bits) of a new model; and how they become
/// <see cref="DataSettings"/>.
/// </summary>
public sealed class DataOptions
{
    /// <summary>--data: folder with MNIST IDX files, CIFAR-10 batches or images; the embedded digits when absent.</summary>
    public Option<string?> Data { get; } = new("--data") { Description = "Folder of MNIST / Fashion-MNIST IDX files (gzip or raw), CIFAR-10 binary batches, or PNG/JPEG/BMP images (searched recursively; a test/ subfolder holds the test images). Default: the embedded 10,000 digits." };

    /// <summary>--dataset: one of <see cref="Datasets.Names"/>.</summary>
    public Option<string> Dataset { get; } = new("--dataset") { Description = "mnist, binarized-mnist, fashion-mnist, cifar10 or images (default binarized-mnist; images when --data is a folder of images).", DefaultValueFactory = _ => Datasets.BinarizedMnist.Name };

    /// <summary>--download: fetch the --dataset into --data (default data/NAME) first, checking its published checksums.</summary>
    public Option<bool> Download { get; } = new("--download")
    {
        Description = "Download --dataset (mnist, binarized-mnist, fashion-mnist or cifar10) into --data (default: data/<name>) first; files already there and verified are not fetched again.",
    };

    /// <summary>--mirror: replaces the base address of the downloads.</summary>
    public Option<string?> Mirror { get; } = new("--mirror") { Description = "Download from this base address instead (each file is fetched as URL/<file name>)." };

    /// <summary>--size HxW for folders of images.</summary>
    public Option<string?> Size { get; } = new("--size")
    {
        Description = "Folder of images: crop each image centrally to this aspect ratio and resize it to HxW (e.g. 64x64). Default: the images' own size (they must then all have it).",
    };

    /// <summary>--channels 1|3 for folders of images.</summary>
    public Option<int?> Channels { get; } = new("--channels") { Description = "Folder of images: 1 (grey) or 3 (RGB). Default: 1 if the first image is grey, else 3." };

    /// <summary>--test-fraction for folders of images without a test/ subfolder.</summary>
    public Option<double?> TestFraction { get; } = new("--test-fraction")
    {
        Description = "Folder of images without a test/ subfolder: the share of images held out for testing, chosen with --seed (default 0.1).",
    };

    /// <summary>--bits: the modelled bit depth.</summary>
    public Option<int?> Bits { get; } = new("--bits")
    {
        Description = "Model N-bit pixels (1-8): each byte becomes floor(x / 2^(8-N)) before scaling to [-1, 1], as the authors do for 5-bit CelebA-HQ. Default 8.",
    };

    /// <summary>--max-image-pixels: the most pixels an image file of a folder may have (read from its header before decoding).</summary>
    public Option<long> MaxImagePixels { get; } = new("--max-image-pixels")
    {
        Description = $"Folder of images: refuse a file whose header claims more pixels (width x height) than this, before decoding it. Default 67,108,864 (8192x8192).",
        DefaultValueFactory = _ => ImageFolderOptions.DefaultMaxImagePixels,
    };

    /// <summary>Creates the options with their accepted values (a value out of range is a usage error, exit code 2).</summary>
    public DataOptions()
    {
        Dataset.AcceptOnlyFromAmong(Datasets.Names.ToArray());
        Size.Accepting(v => v is null || TryParseSize(v, out _), "HEIGHTxWIDTH with sides from 1 to 4096, e.g. --size 64x64");
        Channels.Accepting(v => v is null or 1 or 3, "1 (grey) or 3 (RGB)");
        TestFraction.Finite(v => v > 0 && v < 1, "a number between 0 and 1, e.g. 0.1");
        Bits.Accepting(v => v is null or (>= 1 and <= 8), "1 to 8 (the images hold 8 bits per value)");
        MaxImagePixels.AtLeast(1, "a number of pixels");
    }

    /// <summary>Adds --data, --dataset and the options that concern reading data (all but --bits) to a command.</summary>
    /// <param name="command">The command.</param>
    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { Data, Dataset, Download, Mirror, Size, Channels, TestFraction, MaxImagePixels }) command.Options.Add(option);
    }

    /// <summary>The data settings of a command (the options it does not have are absent).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="seed">The --seed value (it splits a folder of images).</param>
    /// <exception cref="InputError">A malformed --mirror, or --mirror without --download (the parser has checked the ranges).</exception>
    public DataSettings Bind(ParseResult result, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(result);
        var settings = new DataSettings
        {
            Dataset = result.Given(Dataset) ? Datasets.Named(result.GetValue(Dataset)!) : null,
            Folder = result.GetValue(Data),
            Download = result.GetValue(Download),
            Size = result.GetValue(Size) is { } size ? ParseSize(size) : null,
            Channels = result.GetValue(Channels),
            TestFraction = result.GetValue(TestFraction),
            MaxImagePixels = result.GetResult(MaxImagePixels) is null ? ImageFolderOptions.DefaultMaxImagePixels : result.GetValue(MaxImagePixels),
            Mirror = result.GetValue(Mirror) is { } mirror ? MirrorUri(mirror) : null,
            Seed = seed,
        };
        if (settings.Mirror is not null && !settings.Download) throw new InputError("--mirror: only used with --download (or the download command).");
        return settings;
    }

    /// <summary>The --bits value when given (the parser has checked that it is 1 to 8).</summary>
    /// <param name="result">The parse result.</param>
    public int? BitsOf(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetValue(Bits);
    }

    /// <summary>Parses a --size value: "HxW" or a single number for a square.</summary>
    /// <param name="text">The value.</param>
    /// <exception cref="InputError">Not a size from 1 to 4096 per side.</exception>
    public static (int Height, int Width) ParseSize(string text) =>
        TryParseSize(text, out var size) ? size : throw new InputError($"--size {OneLineText.Escape(text)}: expected HEIGHTxWIDTH with sides from 1 to 4096, e.g. --size 64x64.");

    /// <summary>Whether <paramref name="text"/> is a --size value: "HxW" or a single number, sides from 1 to 4096.</summary>
    /// <param name="text">The value.</param>
    /// <param name="size">The height and width.</param>
    public static bool TryParseSize(string text, out (int Height, int Width) size)
    {
        ArgumentNullException.ThrowIfNull(text);
        size = default;
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int height)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            && height is >= 1 and <= 4096 && width is >= 1 and <= 4096)
        {
            size = (height, width);
            return true;
        }
        return false;
    }

    /// <summary>Parses a --mirror address.</summary>
    /// <param name="text">The value.</param>
    /// <exception cref="InputError">Not an http:// or https:// address.</exception>
    public static Uri MirrorUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new InputError($"--mirror {OneLineText.Escape(Redacted(text))}: expected an http:// or https:// address, e.g. https://example.org/mnist/.");

    /// <summary>An address as messages show it: without its credentials (<see cref="UrlRedaction"/>), even when it is not a usable one.</summary>
    private static string Redacted(string text)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri)) return UrlRedaction.Redact(text, uri);
        int at = text.LastIndexOf('@'), scheme = text.IndexOf("://", StringComparison.Ordinal);
        return at > scheme && scheme >= 0 ? text[..(scheme + 3)] + UrlRedaction.Mask + text[at..] : text;
    }
}
