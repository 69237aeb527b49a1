using System.Reflection;
using System.Xml.Linq;
using LocallyMasked.Cli.Commands;
using LocallyMasked.Cli.Data;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Models;
using LocallyMasked.Training;

namespace LocallyMasked.Cli.Tests.Settings;

/// <summary>
/// <c>lmconv train</c>'s defaults against the library's: equal where they mean the same; where they differ, the
/// difference is one of the program's documented choices and the library's XML docs say why.
/// </summary>
public class TrainingDefaultsTests
{
    /// <summary>The trainer settings whose program default differs from the library's on purpose.</summary>
    private static readonly string[] Documented =
    {
        nameof(TrainerOptions.BatchSize), nameof(TrainerOptions.LearningRate), nameof(TrainerOptions.LearningRateDecay),
        nameof(TrainerOptions.EvaluateEvery), nameof(TrainerOptions.EvaluationImages),
    };

    private static XElement? Documentation(string assemblyName, string member)
    {
        var file = Path.Combine(AppContext.BaseDirectory, assemblyName + ".xml");
        File.Exists(file).Should().BeTrue($"{file} is built beside the tests");
        return XDocument.Load(file).Descendants("member").SingleOrDefault(m => (string?)m.Attribute("name") == member);
    }

    [Fact]
    public void Trainer_defaults_equal_the_librarys_except_the_documented_ones()
    {
        var program = CliApp.Settings<TrainSettings>("train").Options;
        var library = new TrainerOptions();
        var differing = typeof(TrainerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => !Equals(p.GetValue(program), p.GetValue(library))).Select(p => p.Name).ToArray();
        differing.Should().BeEquivalentTo(Documented);
        program.Should().Be(TrainingDefaults.Options);
        foreach (var name in Documented.Append(nameof(TrainerOptions.Workers)))
        {
            var docs = Documentation("LocallyMasked.Training", $"P:LocallyMasked.Training.TrainerOptions.{name}");
            docs.Should().NotBeNull(name);
            docs!.Value.Should().Contain("lmconv train", $"the docs of TrainerOptions.{name} say why the program's default differs");
        }
    }

    [Fact]
    public void Model_defaults_equal_the_librarys_except_the_size_and_the_baselines_dropout()
    {
        var model = CliApp.Settings<TrainSettings>("train").Model;
        model.ConfigFor(Datasets.BinarizedMnist, 1, 28, 28).Should()
            .Be(PixelCnnConfig.BinarizedMnist with { Filters = 16, ResidualBlocks = 1, MixtureComponents = 5 });
        CliApp.Settings<TrainSettings>("train", "--model", "pixelcnn++").Model.ConfigFor(Datasets.Cifar10, 3, 32, 32).Should()
            .Be(PixelCnnPlusPlusConfig.Cifar10 with { Filters = 16, ResidualBlocks = 1, MixtureComponents = 5, Dropout = 0 });
        Documentation("LocallyMasked", "T:LocallyMasked.Models.PixelCnnConfig")!.Value.Should().Contain("lmconv train");
        Documentation("LocallyMasked", "P:LocallyMasked.Models.PixelCnnPlusPlusConfig.Dropout")!.Value.Should().Contain("lmconv train");
    }

    [Fact]
    public void Sampling_and_completion_defaults_equal_the_librarys()
    {
        var library = new LocallyMasked.Sampling.SamplingOptions();
        var sample = CliApp.Settings<SampleSettings>("sample", "--checkpoint", "m.ckpt");
        var complete = CliApp.Settings<CompleteSettings>("complete", "--checkpoint", "m.ckpt");
        var pictures = CliApp.Settings<CompleteSettings>("complete", "--checkpoint", "m.ckpt", "--image", "a.png", "--mask", "m.png");
        foreach (var temperature in new[] { sample.Temperature, complete.Temperature, pictures.Temperature })
            temperature.Should().Be(library.Temperature, "--temperature 1 is the library's: the model's own distribution");
        // The order: the model's first order (the library's completion takes the order it is given, with the missing pixels moved last).
        new[] { sample.OrderIndex, complete.OrderIndex, pictures.OrderIndex }.Should().OnlyContain(i => i == 0);
        pictures.Count.Should().Be(1, "--image completes each picture once unless --count says more");
    }

    [Fact]
    public void Evaluation_defaults_equal_the_librarys()
    {
        // LikelihoodEvaluation.Evaluate's optional parameters: images (0: all) and batchSize (image x order pairs per pass).
        var parameters = typeof(LocallyMasked.Training.Evaluation.LikelihoodEvaluation).GetMethods()
            .Where(m => m.Name == "Evaluate").SelectMany(m => m.GetParameters()).Where(p => p.HasDefaultValue).ToArray();
        var batchSizes = parameters.Where(p => p.Name == "batchSize").Select(p => (int)p.DefaultValue!).Distinct().ToArray();
        var images = parameters.Where(p => p.Name == "images").Select(p => (int)p.DefaultValue!).Distinct().ToArray();
        batchSizes.Should().ContainSingle();
        images.Should().ContainSingle();
        var evaluate = CliApp.Settings<EvaluateSettings>("evaluate", "--checkpoint", "m.ckpt");
        var score = CliApp.Settings<ScoreSettings>("score", "--checkpoint", "m.ckpt", "--data", "pictures");
        evaluate.BatchSize.Should().Be(batchSizes[0]);
        score.BatchSize.Should().Be(batchSizes[0]);
        evaluate.Images.Should().Be(images[0], "0: every test image, in both");
    }
}
