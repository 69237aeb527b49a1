using System.CommandLine;
using System.Globalization;

namespace LocallyMasked.Cli;

/// <summary>
/// The options about where data comes from beyond --data/--dataset: downloading (--download, --mirror) and folders of
/// images (--size, --channels, --test-fraction), plus the bit depth (--bits) of a trained model.
/// </summary>
public sealed class DataOptions
{
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
    public Option<int?> Channels { get; } = new("--channels")
    {
        Description = "Folder of images: 1 (grey) or 3 (RGB). Default: 1 if the first image is grey, else 3.",
    };

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

    /// <summary>Adds the options that concern reading data (all but --bits) to a command.</summary>
    /// <param name="command">The command.</param>
    public void AddReadOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach (var option in new Option[] { Download, Mirror, Size, Channels, TestFraction }) command.Options.Add(option);
    }

    /// <summary>Parses a --size value: "HxW" or a single number for a square.</summary>
    /// <param name="text">The value.</param>
    public static (int Height, int Width) ParseSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int height)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            && height is >= 1 and <= 4096 && width is >= 1 and <= 4096)
            return (height, width);
        throw new ArgumentException($"--size {text}: expected HEIGHTxWIDTH with sides from 1 to 4096, e.g. --size 64x64.");
    }

    /// <summary>The image-folder settings given on the command line, over defaults (for example a model's shape).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="seed">The --seed value.</param>
    /// <param name="defaults">Values used where an option is absent.</param>
    public ImageFolderOptions FolderOptions(ParseResult result, ulong seed, ImageFolderOptions? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var options = (defaults ?? new ImageFolderOptions()) with { Seed = seed };
        if (result.GetValue(Size) is { } size)
        {
            var (height, width) = ParseSize(size);
            options = options with { Height = height, Width = width };
        }
        if (result.GetValue(Channels) is { } channels)
        {
            if (channels is not (1 or 3)) throw new ArgumentException($"--channels {channels}: expected 1 (grey) or 3 (RGB).");
            options = options with { Channels = channels };
        }
        if (result.GetValue(TestFraction) is { } fraction)
        {
            if (!(fraction > 0 && fraction < 1)) throw new ArgumentException($"--test-fraction {fraction}: expected a number between 0 and 1, e.g. 0.1.");
            options = options with { TestFraction = fraction };
        }
        return options;
    }

    /// <summary>Whether any image-folder option was typed.</summary>
    /// <param name="result">The parse result.</param>
    public bool AnyFolderOption(ParseResult result) =>
        CommonOptions.Given(result, Size) || CommonOptions.Given(result, Channels) || CommonOptions.Given(result, TestFraction);

    /// <summary>The --bits value checked (8 when absent; binarized digits take none).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="kind">The data set.</param>
    public int BitsFor(ParseResult result, DatasetKind kind)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.GetResult(Bits) is null) return 8;
        if (kind == DatasetKind.BinarizedMnist && CommonOptions.Given(result, Bits))
            throw new ArgumentException("--bits: binarized-mnist has two levels per pixel already; --bits applies to mnist, fashion-mnist, cifar10 and folders of images.");
        int bits = result.GetValue(Bits) ?? 8;
        if (bits is < 1 or > 8) throw new ArgumentException($"--bits {bits}: expected 1 to 8 (the images hold 8 bits per value).");
        return bits;
    }
}
