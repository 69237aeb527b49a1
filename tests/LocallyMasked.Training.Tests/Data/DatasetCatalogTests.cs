using LocallyMasked.TestSupport;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>The real catalogue's values can only be checked for form and provenance here (there is no network).</summary>
public class DatasetCatalogTests
{
    [Fact]
    public void EveryFileHasASizeAnMd5AndASha256()
    {
        DatasetCatalog.All.Select(d => d.Name).Should().Equal("mnist", "fashion-mnist", "cifar10");
        foreach (var dataset in DatasetCatalog.All)
        {
            dataset.Mirrors.Should().NotBeEmpty().And.OnlyContain(m => m.IsAbsoluteUri && m.AbsoluteUri.EndsWith('/'));
            dataset.Files.Should().NotBeEmpty();
            foreach (var file in dataset.Files)
            {
                file.Size.Should().BePositive(file.Name);
                file.Md5.Should().MatchRegex("^[0-9a-f]{32}$");
                file.Sha256.Should().MatchRegex("^[0-9a-f]{64}$");
            }
            dataset.Files.Select(f => f.Md5).Should().OnlyHaveUniqueItems();
            dataset.Layout.Should().NotBeNullOrWhiteSpace();
        }
    }

    [Fact]
    public void MnistAndFashionMnistUseTheSameNamesAndDifferentBytes()
    {
        var names = new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };
        DatasetCatalog.Mnist.Files.Select(f => f.Name).Should().Equal(names);
        DatasetCatalog.FashionMnist.Files.Select(f => f.Name).Should().Equal(names);
        DatasetCatalog.Mnist.Files.Select(f => f.Md5).Should().NotIntersectWith(DatasetCatalog.FashionMnist.Files.Select(f => f.Md5));
        // torchvision's values (torchvision/datasets/mnist.py), spot-checked against the catalogue.
        DatasetCatalog.Mnist.Files[0].Md5.Should().Be("f68b3c2dcbeaaa9fbdd348bbdeb94873");
        DatasetCatalog.FashionMnist.Files[0].Md5.Should().Be("8d4fb7e6c68d591d4c3dfef9ec88bf0d");
    }

    [Fact]
    public void Cifar10IsTheBinaryArchiveWithItsSixBatches()
    {
        var archive = DatasetCatalog.Cifar10.Files.Should().ContainSingle().Subject;
        archive.Name.Should().Be("cifar-10-binary.tar.gz");
        archive.Md5.Should().Be("c32a1d4ab5d03f1284b67883e8d87530", "the binary version's MD5 on the CIFAR page, not the python version's");
        archive.Extract.Select(e => e.Path).Should().Equal(
            "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin", "cifar-10-batches-bin/data_batch_3.bin",
            "cifar-10-batches-bin/data_batch_4.bin", "cifar-10-batches-bin/data_batch_5.bin", "cifar-10-batches-bin/test_batch.bin");
        archive.Extract.Should().OnlyContain(e => e.Size == 30_730_000);
    }

    [Fact]
    public void TheSourcesOfTheChecksumsAreCited()
    {
        DatasetCatalog.Mnist.ChecksumSource.Should().Contain("torchvision").And.Contain("url_checksums/mnist.txt");
        DatasetCatalog.FashionMnist.ChecksumSource.Should().Contain("zalandoresearch/fashion-mnist").And.Contain("url_checksums/fashion_mnist.txt");
        DatasetCatalog.Cifar10.ChecksumSource.Should().Contain("cs.toronto.edu/~kriz/cifar.html").And.Contain("url_checksums/cifar10.txt");
        var source = File.ReadAllText(RepositoryFiles.Find("src/LocallyMasked.Training/Data/DatasetCatalog.cs"));
        source.Should().Contain("pytorch/vision torchvision/datasets/mnist.py").And.Contain("tensorflow_datasets/url_checksums");
    }

    [Fact]
    public void FindKnowsTheNames()
    {
        DatasetCatalog.Find("Fashion-MNIST").Should().BeSameAs(DatasetCatalog.FashionMnist);
        var act = () => DatasetCatalog.Find("imagenet");
        act.Should().Throw<ArgumentException>().WithMessage("*imagenet*mnist, fashion-mnist, cifar10*");
    }
}
