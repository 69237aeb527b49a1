using LocallyMasked.Checkpoints;
using LocallyMasked.Models;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// The program's model names come from the model catalog: <c>--model</c> takes exactly its names, a checkpoint records
/// its type, and a model the catalog does not know is refused in one line, whether it is typed or recorded in a file.
/// </summary>
public sealed class ModelNameTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-names-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string P(string relative) => Path.Combine(dir, relative);

    [Fact]
    public void An_unknown_model_name_is_refused_with_the_catalog_names()
    {
        var run = Lmconv.Run("train", "--model", "pixelcnn", "--output", P("untouched"));
        run.Code.Should().Be(ExitCodes.Usage, run.Err);
        run.ErrLines.Should().ContainSingle().Which.Should().Contain("--model").And.Contain("pixelcnn");
        foreach (var name in ModelCatalog.Names) run.Err.Should().Contain(name);
        Directory.Exists(P("untouched")).Should().BeFalse();
    }

    [Fact]
    public void Each_model_name_trains_the_model_the_catalog_names_and_its_checkpoint_records_the_catalog_type()
    {
        foreach (var definition in ModelCatalog.Models)
        {
            string output = P(definition.Kind.ToString());
            var run = Lmconv.Run(Lmconv.TinyTraining(output, 1, "--model", definition.Name, "--orders", "1"));
            run.Code.Should().Be(ExitCodes.Success, run.Err);
            run.Out.Should().Contain($"model: {definition.Name},");
            var metadata = CheckpointMetadata.Read(Path.Combine(output, "model.ckpt"));
            metadata.ModelType.Should().Be(definition.TypeName);
            metadata.Definition().Should().BeSameAs(definition);
            metadata.ReadConfiguration().Should().BeOfType(definition.ConfigurationType);
        }
    }

    [Fact]
    public void A_checkpoint_that_records_a_model_the_catalog_does_not_know_is_refused_in_one_line()
    {
        string output = P("lmconv");
        Lmconv.Run(Lmconv.TinyTraining(output, 1)).Code.Should().Be(ExitCodes.Success);
        string good = Path.Combine(output, "model.ckpt"), foreign = P("foreign.ckpt");
        using (var loaded = PixelCnnCheckpoint.LoadModel(good))
        {
            var metadata = loaded.Metadata! with { ModelType = "Other.Model" };
            TrainingCheckpointFile.Save(foreign, new TrainingCheckpointSections(metadata, null, Array.Empty<byte>()),
                loaded.Model.Module.state_dict(), null);
        }

        var resume = Lmconv.Run("train", "--resume", foreign, "--steps", "5", "--output", P("untouched"));
        resume.Code.Should().Be(ExitCodes.BadInput, resume.Err);
        resume.ErrLines.Should().ContainSingle().Which.Should().Contain("--resume").And.Contain(foreign).And.Contain("'Other.Model'").And.Contain("cannot build");
        var evaluate = Lmconv.Run("evaluate", "--checkpoint", foreign);
        evaluate.Code.Should().Be(ExitCodes.BadInput, evaluate.Err);
        evaluate.ErrLines.Should().ContainSingle().Which.Should().Contain(foreign).And.Contain("'Other.Model'");
        Directory.Exists(P("untouched")).Should().BeFalse();
    }
}
