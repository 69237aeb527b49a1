using System.CommandLine;
using LocallyMasked.Models;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli;

/// <summary>The command-line side of data: --dataset resolution, --download, and folders of images.</summary>
public static partial class DataSources
{
    /// <summary>
    /// The data set a command works on: --dataset, or <see cref="DatasetKind.Images"/> when --dataset was left out and
    /// --data is a folder of images.
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="common">The shared options.</param>
    public static DatasetKind KindOf(ParseResult result, CommonOptions common)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(common);
        var kind = Parse(result.GetValue(common.Dataset)!);
        return !CommonOptions.Given(result, common.Dataset) && result.GetValue(common.Data) is { Length: > 0 } folder && IsImageFolder(folder)
            ? DatasetKind.Images
            : kind;
    }

    /// <summary>
    /// The folder to read <paramref name="kind"/> from: --data, after downloading into it (default data/NAME) when
    /// --download is given. Null means the embedded digits.
    /// </summary>
    /// <param name="result">The parse result.</param>
    /// <param name="common">The shared options.</param>
    /// <param name="kind">The data set.</param>
    public static string? FolderOf(ParseResult result, CommonOptions common, DatasetKind kind)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(common);
        string? folder = result.GetValue(common.Data);
        string? mirror = result.GetValue(common.DataExtras.Mirror);
        if (!result.GetValue(common.DataExtras.Download))
        {
            if (mirror is not null) throw new ArgumentException("--mirror: only used with --download (or the download command).");
            return folder;
        }
        var dataset = DataDownloads.For(kind);
        if (mirror is not null) dataset = dataset.WithMirror(MirrorUri(mirror));
        folder ??= DataDownloads.DefaultFolder(dataset);
        try
        {
            DataDownloads.Run(dataset, folder);
        }
        catch (OperationCanceledException)
        {
            throw new DatasetDownloadException($"Download of {dataset.Name} into {folder} cancelled; no partial file was left.");
        }
        return folder;
    }

    /// <summary>Reads a split with the image-folder options of the command line (over <paramref name="model"/>'s shape when given).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="common">The shared options.</param>
    /// <param name="kind">The data set.</param>
    /// <param name="folder">The folder from <see cref="FolderOf"/>.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="model">The model that will see the images (its channels and size are the defaults), or null.</param>
    public static ImageDataset Read(ParseResult result, CommonOptions common, DatasetKind kind, string? folder, bool train, IImageModelConfig? model = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(common);
        bool images = !string.IsNullOrEmpty(folder) && (kind == DatasetKind.Images || IsImageFolder(folder));
        if (!images && common.DataExtras.AnyFolderOption(result))
            throw new ArgumentException(
                $"--size, --channels and --test-fraction apply to a --data folder of images; {(folder is null ? "the embedded digits are" : folder + " holds")} {kind} data.");
        var defaults = new ImageFolderOptions
        {
            // A data set named by --dataset fixes the channels (grey MNIST-like digits, RGB CIFAR-like pictures).
            Channels = model?.ImageChannels ?? kind switch
            {
                DatasetKind.Mnist or DatasetKind.BinarizedMnist or DatasetKind.FashionMnist => 1,
                DatasetKind.Cifar10 => 3,
                _ => null,
            },
            Height = model?.Height,
            Width = model?.Width,
        };
        var options = common.DataExtras.FolderOptions(result, result.GetValue(common.Seed), defaults);
        if (model is not null && (options.Channels != model.ImageChannels || options.Height != model.Height || options.Width != model.Width))
            throw new ArgumentException(
                $"--size/--channels: the model takes {model.ImageChannels}x{model.Height}x{model.Width} images (CxHxW); leave these options out to use its size.");
        return Read(kind, folder, train, options);
    }

    /// <summary>Whether a --data folder holds images and none of the files of MNIST or CIFAR-10.</summary>
    /// <param name="folder">The folder.</param>
    public static bool IsImageFolder(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        bool datasetFiles = Directory.EnumerateFiles(folder).Select(Path.GetFileName)
                .Any(name => name!.Contains("-ubyte", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal))
            || Directory.Exists(Path.Combine(folder, "cifar-10-batches-bin"));
        return !datasetFiles && ImageFolderReader.HasImages(folder);
    }

    private static ImageDataset ReadImages(string folder, bool train, ImageFolderOptions options)
    {
        var split = ImageFolderReader.Read(folder, train, options);
        if (split.Skipped.Count > 0)
            Console.Error.WriteLine(
                $"warning: {folder}: skipped {split.Skipped.Count} file(s) of the {(train ? "training" : "test")} split that are not usable images: " +
                ImageFolderReader.Describe(split.Skipped));
        return split.Images;
    }

    /// <summary>Parses a --mirror address.</summary>
    /// <param name="text">The value.</param>
    public static Uri MirrorUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new ArgumentException($"--mirror {text}: expected an http:// or https:// address, e.g. https://example.org/mnist/.");
}
