using LocallyMasked.Training.Data;
using LocallyMasked.Training;

namespace LocallyMasked.Cli;

/// <summary>Finds the images a command works on: the embedded digits, or files under --data.</summary>
public static partial class DataSources
{
    /// <summary>Parses a --dataset value.</summary>
    /// <param name="name">mnist, binarized-mnist, fashion-mnist, cifar10 or images.</param>
    public static DatasetKind Parse(string name) => name switch
    {
        "mnist" => DatasetKind.Mnist,
        "binarized-mnist" => DatasetKind.BinarizedMnist,
        "cifar10" => DatasetKind.Cifar10,
        "fashion-mnist" => DatasetKind.FashionMnist,
        "images" => DatasetKind.Images,
        _ => throw new ArgumentException($"Unknown data set '{name}'; expected {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>The accepted --dataset values.</summary>
    public static string[] Names { get; } = { "mnist", "binarized-mnist", "fashion-mnist", "cifar10", "images" };

    /// <summary>How a data set's bytes become model inputs.</summary>
    /// <param name="kind">The data set.</param>
    public static InputEncoding Encoding(DatasetKind kind) =>
        kind == DatasetKind.BinarizedMnist ? InputEncoding.DynamicBinarization : InputEncoding.Signed;

    /// <summary>Reads a split: from <paramref name="folder"/> when given, else the embedded digits (MNIST only).</summary>
    /// <param name="kind">The data set.</param>
    /// <param name="folder">The --data folder, or null.</param>
    /// <param name="train">True for the training split.</param>
    public static ImageDataset Read(DatasetKind kind, string? folder, bool train) => Read(kind, folder, train, new ImageFolderOptions());

    /// <summary>
    /// Reads a split: a --data folder of images (whatever <paramref name="kind"/> says, when it holds images and none of
    /// the data set files), the files of <paramref name="kind"/> under <paramref name="folder"/>, or the embedded digits.
    /// </summary>
    /// <param name="kind">The data set.</param>
    /// <param name="folder">The --data folder, or null.</param>
    /// <param name="train">True for the training split.</param>
    /// <param name="images">How a folder of images is read.</param>
    public static ImageDataset Read(DatasetKind kind, string? folder, bool train, ImageFolderOptions images)
    {
        if (!string.IsNullOrEmpty(folder) && (kind == DatasetKind.Images || IsImageFolder(folder)))
            return ReadImages(folder, train, images);
        if (kind is DatasetKind.FashionMnist or DatasetKind.Images && string.IsNullOrEmpty(folder))
            throw new ArgumentException(kind == DatasetKind.Images
                ? "--dataset images: pass --data with a folder of PNG, JPEG or BMP images."
                : "Fashion-MNIST is not embedded: pass --download (it goes to data/fashion-mnist), or --data with the folder of its four IDX files.");
        if (kind == DatasetKind.Cifar10)
        {
            if (string.IsNullOrEmpty(folder))
                throw new ArgumentException("CIFAR-10 is not embedded: pass --download (it goes to data/cifar10), or --data with the folder of data_batch_1.bin .. test_batch.bin.");
            return Cifar10Reader.ReadDirectory(folder, train);
        }
        return string.IsNullOrEmpty(folder) ? EmbeddedDigits.Read(train) : IdxReader.ReadDirectory(folder, train);
    }
}
