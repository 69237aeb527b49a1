using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// The data sets the program reads, in one table: for each --dataset name its reader, the likelihood head and input
/// encoding of its models, its bit depth, its images' channels and usual size (the published model's configuration),
/// and its download. It lives in the program because it pairs the program's names with what the program owns (the
/// embedded digits, the image-folder reader) and with the packages' pieces; the training package keeps what is about
/// files alone (readers, downloads).
/// </summary>
public static class Datasets
{
    /// <summary>MNIST digits as 8-bit grey images (a logistic mixture over 256 levels).</summary>
    public static DatasetDefinition Mnist { get; } = new()
    {
        Name = "mnist",
        Description = "MNIST digits, 8-bit grey",
        Likelihood = LikelihoodKind.GreyLogisticMixture,
        Encoding = InputEncoding.Signed,
        Bits = 8,
        Channels = 1,
        Template = PixelCnnConfig.GreyMnist,
        Download = DatasetCatalog.Mnist,
        ReadFiles = (folder, train) => string.IsNullOrEmpty(folder) ? EmbeddedDigits.Read(train) : IdxReader.ReadDirectory(folder, train),
    };

    /// <summary>MNIST digits binarized anew at every step (a two-class likelihood, nats per image, as the paper reports).</summary>
    public static DatasetDefinition BinarizedMnist { get; } = Mnist with
    {
        Name = "binarized-mnist",
        Description = "MNIST digits, binarized",
        Likelihood = LikelihoodKind.Binary,
        Encoding = InputEncoding.DynamicBinarization,
        Bits = null,
        Template = PixelCnnConfig.BinarizedMnist,
    };

    /// <summary>Fashion-MNIST: MNIST's format and file names, modelled like <see cref="Mnist"/>; not embedded.</summary>
    public static DatasetDefinition FashionMnist { get; } = Mnist with
    {
        Name = "fashion-mnist",
        Description = "Fashion-MNIST, 8-bit grey",
        Download = DatasetCatalog.FashionMnist,
        ReadFiles = (folder, train) => string.IsNullOrEmpty(folder)
            ? throw new ArgumentException("Fashion-MNIST is not embedded: pass --download (it goes to data/fashion-mnist), or --data with the folder of its four IDX files.")
            : IdxReader.ReadDirectory(folder, train),
    };

    /// <summary>CIFAR-10's binary batches, 8-bit RGB; not embedded.</summary>
    public static DatasetDefinition Cifar10 { get; } = new()
    {
        Name = "cifar10",
        Description = "CIFAR-10, 8-bit RGB",
        Likelihood = LikelihoodKind.RgbLogisticMixture,
        Encoding = InputEncoding.Signed,
        Bits = 8,
        Channels = 3,
        Template = PixelCnnConfig.Cifar10,
        Download = DatasetCatalog.Cifar10,
        ReadFiles = (folder, train) => string.IsNullOrEmpty(folder)
            ? throw new ArgumentException("CIFAR-10 is not embedded: pass --download (it goes to data/cifar10), or --data with the folder of data_batch_1.bin .. test_batch.bin.")
            : Cifar10Reader.ReadDirectory(folder, train),
    };

    /// <summary>A folder of PNG, JPEG or BMP images: 8-bit grey or RGB by their channels (<c>--channels</c>); size by
    /// <c>--size</c>. A weight file without a recorded size is assumed to be CIFAR-10's.</summary>
    public static DatasetDefinition Images { get; } = new()
    {
        Name = "images",
        Description = "a folder of images",
        Encoding = InputEncoding.Signed,
        Bits = 8,
        Template = PixelCnnConfig.Cifar10,
    };

    /// <summary>Every data set, in the order --dataset lists them.</summary>
    public static IReadOnlyList<DatasetDefinition> All { get; } = new[] { Mnist, BinarizedMnist, FashionMnist, Cifar10, Images };

    /// <summary>The --dataset names.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(d => d.Name).ToArray();

    /// <summary>The data set called <paramref name="name"/>.</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static DatasetDefinition Named(string name) =>
        All.FirstOrDefault(d => d.Name == name)
        ?? throw new ArgumentException($"Unknown data set '{name}'; expected {string.Join(", ", Names)}.", nameof(name));

    /// <summary>
    /// The data set a model is taken to model when no --dataset says otherwise: the first in <see cref="All"/> whose
    /// likelihood is the model's (binarized-mnist, mnist or cifar10).
    /// </summary>
    /// <param name="config">The model's configuration.</param>
    public static DatasetDefinition For(IImageModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return All.First(d => d.Likelihood == config.Likelihood || (d.Likelihood is null && d.Fits(config.Likelihood, config.ImageChannels)));
    }
}
