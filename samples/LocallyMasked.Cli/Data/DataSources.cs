using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>Finds the images a command works on: the embedded digits, a data set's files, or a folder of images.</summary>
public static class DataSources
{
    /// <summary>
    /// The data set a command works on: --dataset when given; otherwise <see cref="Datasets.Images"/> when --data is a
    /// folder of images, else <see cref="Datasets.BinarizedMnist"/>.
    /// </summary>
    /// <param name="data">The command's data settings.</param>
    public static DatasetDefinition Resolve(DataSettings data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Dataset is { } typed) return typed;
        return data.Folder is { Length: > 0 } folder && IsImageFolder(folder) ? Datasets.Images : Datasets.BinarizedMnist;
    }

    /// <summary>
    /// The folder to read <paramref name="dataset"/> from: --data, after downloading into it (default data/NAME) when
    /// --download is given. Null means the embedded digits.
    /// </summary>
    /// <param name="data">The command's data settings.</param>
    /// <param name="dataset">The data set.</param>
    /// <param name="terminal">Where the download reports.</param>
    public static string? FolderOf(DataSettings data, DatasetDefinition dataset, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(terminal);
        if (!data.Download)
        {
            if (data.Folder is { } given) Checks.ExistingFolder(given, "--data");
            return data.Folder;
        }
        var description = dataset.Download
            ?? throw new InputError("--download: a folder of images cannot be downloaded; --download works with --dataset mnist, binarized-mnist, fashion-mnist or cifar10.");
        if (data.Mirror is { } mirror) description = description.WithMirror(mirror);
        string folder = data.Folder ?? DataDownloads.DefaultFolder(description);
        DataDownloads.Run(description, folder, terminal.Out, terminal.Interactive, error: terminal.Error);
        return folder;
    }

    /// <summary>
    /// Reads a split with the command's image-folder settings, over the channels and size of <paramref name="model"/>
    /// when given (a folder is then read at the model's size).
    /// </summary>
    /// <param name="data">The command's data settings.</param>
    /// <param name="dataset">The data set.</param>
    /// <param name="folder">The folder from <see cref="FolderOf"/>.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="terminal">Where warnings about skipped files go.</param>
    /// <param name="model">The model that will see the images, or null.</param>
    public static ImageDataset Read(DataSettings data, DatasetDefinition dataset, string? folder, bool train, Terminal terminal, IImageModelConfig? model = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(dataset);
        bool images = !string.IsNullOrEmpty(folder) && (dataset.IsImageFolder || IsImageFolder(folder));
        if (!images && data.AnyFolderOption)
            throw new InputError(
                $"--size, --channels and --test-fraction apply to a --data folder of images; {(folder is null ? "the embedded digits are" : folder + " holds")} {dataset.Name} data.");
        var options = new ImageFolderOptions
        {
            // A data set named by --dataset fixes the channels (grey MNIST-like digits, RGB CIFAR-like pictures).
            Channels = data.Channels ?? model?.ImageChannels ?? dataset.Channels,
            Height = data.Size?.Height ?? model?.Height,
            Width = data.Size?.Width ?? model?.Width,
            TestFraction = data.TestFraction,
            MaxImagePixels = data.MaxImagePixels,
            Seed = data.Seed,
        };
        if (model is not null && (options.Channels != model.ImageChannels || options.Height != model.Height || options.Width != model.Width))
            throw new InputError(
                $"--size/--channels: the model takes {model.ImageChannels}x{model.Height}x{model.Width} images (CxHxW); leave these options out to use its size.");
        return Read(dataset, folder, train, options, terminal);
    }

    /// <summary>
    /// Reads a split: a folder of images (whatever <paramref name="dataset"/> says, when the folder holds images and none
    /// of a data set's files), the files of <paramref name="dataset"/> under <paramref name="folder"/>, or the embedded digits.
    /// </summary>
    /// <param name="dataset">The data set.</param>
    /// <param name="folder">The --data folder, or null.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="images">How a folder of images is read.</param>
    /// <param name="terminal">Where warnings about skipped files go.</param>
    public static ImageDataset Read(DatasetDefinition dataset, string? folder, bool train, ImageFolderOptions images, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(terminal);
        if (!string.IsNullOrEmpty(folder) && (dataset.IsImageFolder || IsImageFolder(folder)))
        {
            var split = ImageFolderReader.Read(folder, train, images);
            // Both splits come from one listing of the folder: the terminal prints a repeated warning once.
            if (split.RepeatedLinks > 0)
                terminal.Warn($"{folder}: {split.RepeatedLinks} link{(split.RepeatedLinks == 1 ? "" : "s")} led to images or folders already read; each image is read once.");
            if (split.Unreadable.Count > 0)
                terminal.Warn($"{folder}: skipped {split.Unreadable.Count} file(s) that cannot be opened: {ImageFolderReader.Describe(split.Unreadable)}");
            if (split.Skipped.Count > 0)
                terminal.Warn(
                    $"{folder}: skipped {split.Skipped.Count} file(s) of the {(train ? "training" : "test")} split that are not usable images: " +
                    ImageFolderReader.Describe(split.Skipped));
            return split.Images;
        }
        if (dataset.ReadFiles is not { } read) throw new InputError($"--dataset {dataset.Name}: pass --data with a folder of PNG, JPEG or BMP images.");
        return read(folder, train);
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
}
