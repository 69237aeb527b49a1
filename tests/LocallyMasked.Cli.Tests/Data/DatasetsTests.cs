using LocallyMasked.Cli.Data;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Tests.Data;

/// <summary>
/// The program's one table of data sets: each name's likelihood, encoding, bits, channels, published model and
/// download agree with one another, and a model is used only with data of its likelihood.
/// </summary>
public sealed class DatasetsTests : IClassFixture<TinyCheckpoint>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-datasets-").FullName;
    private readonly TinyCheckpoint fixture;

    public DatasetsTests(TinyCheckpoint fixture) => this.fixture = fixture;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Every_entry_is_consistent_with_itself()
    {
        Datasets.Names.Should().Equal("mnist", "binarized-mnist", "fashion-mnist", "cifar10", "images").And.OnlyHaveUniqueItems();
        foreach (var d in Datasets.All)
        {
            Datasets.Named(d.Name).Should().BeSameAs(d);
            bool binary = d.Likelihood == LikelihoodKind.Binary;
            (d.Encoding == InputEncoding.DynamicBinarization).Should().Be(binary, d.Name);
            (d.Bits is null).Should().Be(binary, $"{d.Name}: --bits applies to the 8-bit data sets only");
            d.ReportsBitsPerDimension.Should().Be(!binary, d.Name);
            if (d.IsImageFolder)
            {
                (d.Likelihood, d.Channels, d.Download).Should().Be(((LikelihoodKind?)null, (int?)null, (DatasetDescription?)null));
                continue;
            }
            d.Template.Likelihood.Should().Be(d.Likelihood!.Value, $"{d.Name}: its published model has its likelihood");
            d.Template.ImageChannels.Should().Be(d.Channels!.Value, d.Name);
            d.Download.Should().NotBeNull(d.Name);
        }
        Datasets.BinarizedMnist.Download.Should().BeSameAs(Datasets.Mnist.Download, "binarized digits are MNIST's files");
        Datasets.Images.LikelihoodFor(1).Should().Be(LikelihoodKind.GreyLogisticMixture);
        Datasets.Images.LikelihoodFor(3).Should().Be(LikelihoodKind.RgbLogisticMixture);
    }

    [Theory]
    [InlineData(LikelihoodKind.Binary, 1, "binarized-mnist")]
    [InlineData(LikelihoodKind.GreyLogisticMixture, 1, "mnist")]
    [InlineData(LikelihoodKind.RgbLogisticMixture, 3, "cifar10")]
    public void A_model_without_a_typed_data_set_is_taken_to_model_the_first_of_its_likelihood(LikelihoodKind likelihood, int channels, string name)
    {
        var config = PixelCnnConfig.Cifar10 with { Likelihood = likelihood, ImageChannels = channels };
        Datasets.For(config).Name.Should().Be(name);
        Datasets.For(config).Fits(likelihood, channels).Should().BeTrue();
    }

    [Fact]
    public void A_model_is_used_only_with_data_of_its_likelihood()
    {
        var binary = PixelCnnConfig.BinarizedMnist;
        foreach (var (dataset, fits) in new[] { (Datasets.BinarizedMnist, true), (Datasets.Mnist, false), (Datasets.FashionMnist, false), (Datasets.Images, false) })
        {
            var check = () => DataChecks.DataFitsModel(dataset, binary, "m.ckpt");
            if (fits) check.Should().NotThrow();
            else check.Should().Throw<InputError>().WithMessage($"--dataset {dataset.Name}: the model in m.ckpt has a Binary likelihood, which models binarized-mnist data*");
        }
        DataChecks.DataFitsModel(Datasets.FashionMnist, PixelCnnConfig.GreyMnist, "m.ckpt");
        DataChecks.DataFitsModel(Datasets.Images, PixelCnnConfig.GreyMnist, "m.ckpt");
        DataChecks.DataFitsModel(Datasets.Images, PixelCnnConfig.Cifar10, "m.ckpt");
    }

    [Fact]
    public void A_binarized_model_given_a_folder_as_images_is_refused_naming_the_data_set()
    {
        // The folder's grey 28x28 pictures fit the model's shape; as --dataset images they would be encoded as 8-bit values,
        // which a two-class likelihood refuses deep inside the model ("Binary pixel values must be exactly -1 or +1"); the
        // table says so before anything is read, naming the option. Left to the model's data set they are binarized.
        for (int i = 0; i < 3; i++) ImageFiles.GreyPng(Path.Combine(dir, "pictures", "test", $"{i}.png"), 28, 28, (x, y) => (byte)((x * 9 + y * 5 + i) % 256));
        for (int i = 0; i < 3; i++) ImageFiles.GreyPng(Path.Combine(dir, "pictures", $"{i}.png"), 28, 28, (x, y) => (byte)(x * y % 256));
        string folder = Path.Combine(dir, "pictures");

        var refused = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--dataset", "images", "--data", folder, "--orders", "1");
        refused.Code.Should().Be(ExitCodes.BadInput, refused.Out);
        refused.ErrLines.Should().ContainSingle().Which.Should().Contain("--dataset images").And.Contain("binarized-mnist");
        refused.Out.Should().NotContain("test NLL");

        var binarized = Lmconv.Run("evaluate", "--checkpoint", fixture.Path, "--data", folder, "--orders", "1");
        binarized.Code.Should().Be(0, binarized.Err);
        binarized.Out.Should().Contain("test NLL on 3 images");
    }
}
