namespace LocallyMasked.Training.Data;

/// <summary>
/// The published data sets the downloader knows, with the checksums their maintainers (and torchvision / TensorFlow
/// Datasets) publish. Each file is checked against every checksum given and its size.
/// </summary>
public static class DatasetCatalog
{
    private const string MnistLayout =
        "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz " +
        "(gzip or unpacked) directly in the folder";

    /// <summary>
    /// MNIST (LeCun, Cortes, Burges): the four IDX files, gzip-compressed.
    /// MD5: torchvision, pytorch/vision torchvision/datasets/mnist.py (class MNIST, "resources").
    /// Sizes and SHA-256: TensorFlow Datasets, tensorflow/datasets tensorflow_datasets/url_checksums/mnist.txt (for the
    /// storage.googleapis.com/cvdf-datasets mirror, which serves the same bytes).
    /// Mirrors: torchvision's ossci-datasets S3 copy first, then the cvdf copy TFDS uses. yann.lecun.com itself answers
    /// HTTP 403 to downloads since 2024 (torchvision falls through to ossci for the same reason), so it is left out.
    /// </summary>
    public static DatasetDescription Mnist { get; } = new(
        "mnist",
        new[] { new Uri("https://ossci-datasets.s3.amazonaws.com/mnist/"), new Uri("https://storage.googleapis.com/cvdf-datasets/mnist/") },
        new[]
        {
            new DatasetFile("train-images-idx3-ubyte.gz", 9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            new DatasetFile("train-labels-idx1-ubyte.gz", 28881, "d53e105ee54ea40749a09fcbcd1e9432", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            new DatasetFile("t10k-images-idx3-ubyte.gz", 1648877, "9fb629c4189551a2d022fa330f9573f3", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            new DatasetFile("t10k-labels-idx1-ubyte.gz", 4542, "ec29112dd5afa0611ce80d1b7f02629c", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        },
        new Uri("http://yann.lecun.com/exdb/mnist/"),
        MnistLayout,
        "MD5: torchvision (pytorch/vision torchvision/datasets/mnist.py); sizes and SHA-256: TensorFlow Datasets (tensorflow_datasets/url_checksums/mnist.txt)");

    /// <summary>
    /// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; Zalando Research): MNIST's IDX format and file names, 28x28 grey
    /// pictures of clothes in 10 classes.
    /// MD5 and address: the "Get the Data" table of zalandoresearch/fashion-mnist README.md, the same values as torchvision
    /// (pytorch/vision torchvision/datasets/mnist.py, class FashionMNIST). The only published address is a plain-http S3
    /// website endpoint (it has no https); the checksums are the integrity check.
    /// Sizes and SHA-256: TensorFlow Datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt.
    /// </summary>
    public static DatasetDescription FashionMnist { get; } = new(
        "fashion-mnist",
        new[] { new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/") },
        new[]
        {
            new DatasetFile("train-images-idx3-ubyte.gz", 26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            new DatasetFile("train-labels-idx1-ubyte.gz", 29515, "25c81989df183df01b3e8a0aad5dffbe", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            new DatasetFile("t10k-images-idx3-ubyte.gz", 4422102, "bef4ecab320f06d8554ea6380940ec79", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            new DatasetFile("t10k-labels-idx1-ubyte.gz", 5148, "bb300cfdad3c16e7a12a480ee83cd310", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        },
        new Uri("https://github.com/zalandoresearch/fashion-mnist#get-the-data"),
        MnistLayout,
        "MD5: zalandoresearch/fashion-mnist README.md and torchvision (torchvision/datasets/mnist.py); sizes and SHA-256: TensorFlow Datasets (tensorflow_datasets/url_checksums/fashion_mnist.txt)");

    /// <summary>
    /// CIFAR-10 (Krizhevsky 2009), the binary version ("suitable for C programs"): one .tar.gz holding
    /// cifar-10-batches-bin/ with five training batches and a test batch of 10,000 records of 3,073 bytes each.
    /// MD5: the table on https://www.cs.toronto.edu/~kriz/cifar.html (binary version). Size and SHA-256: TensorFlow
    /// Datasets, tensorflow_datasets/url_checksums/cifar10.txt. (torchvision's CIFAR10 downloads the python version,
    /// cifar-10-python.tar.gz, whose MD5 differs.)
    /// </summary>
    public static DatasetDescription Cifar10 { get; } = new(
        "cifar10",
        new[] { new Uri("https://www.cs.toronto.edu/~kriz/") },
        new[]
        {
            new DatasetFile("cifar-10-binary.tar.gz", 170052171, "c32a1d4ab5d03f1284b67883e8d87530", "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd")
            {
                Extract = Cifar10Reader.TrainingFiles.Append(Cifar10Reader.TestFile)
                    .Select(name => new ArchiveEntry("cifar-10-batches-bin/" + name, 10000L * Cifar10Reader.RecordSize))
                    .ToArray(),
            },
        },
        new Uri("https://www.cs.toronto.edu/~kriz/cifar.html"),
        "cifar-10-batches-bin/ with data_batch_1.bin .. data_batch_5.bin and test_batch.bin (unpacked from cifar-10-binary.tar.gz), " +
        "or those six files directly in the folder",
        "MD5: https://www.cs.toronto.edu/~kriz/cifar.html (binary version); size and SHA-256: TensorFlow Datasets (tensorflow_datasets/url_checksums/cifar10.txt)");

    /// <summary>The data sets above.</summary>
    public static IReadOnlyList<DatasetDescription> All { get; } = new[] { Mnist, FashionMnist, Cifar10 };

    /// <summary>The data set named <paramref name="name"/> (mnist, fashion-mnist or cifar10).</summary>
    /// <param name="name">The name.</param>
    public static DatasetDescription Find(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown data set '{name}'; the downloader knows {string.Join(", ", All.Select(d => d.Name))}.", nameof(name));
}
