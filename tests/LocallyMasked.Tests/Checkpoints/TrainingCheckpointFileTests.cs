using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// The training checkpoint file as the model package reads and writes it, without the trainer: the model part loads
/// through the one loader for either model; the trainer's sections travel as opaque bytes; loading is all or nothing;
/// a model type the catalog does not know is refused with the file's name.
/// </summary>
public sealed class TrainingCheckpointFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lm-training-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    private static IAutoregressiveImageModel Tiny(ModelKind kind, int seed)
    {
        IImageModelConfig config = kind == ModelKind.PixelCnnPlusPlus
            ? PixelCnnPlusPlusConfig.GreyMnist with { Height = 8, Width = 8, Filters = 4, ResidualBlocks = 1, MixtureComponents = 2 }
            : TinyModels.Grey(8) with { Filters = 4 };
        manual_seed(seed);
        var model = ModelCatalog.Create(config, dtype: ScalarType.Float64);
        model.Module.eval();
        return model;
    }

    private static CheckpointMetadata MetadataOf(IAutoregressiveImageModel model, long step = 5)
    {
        var definition = ModelCatalog.Get(model.Kind);
        var orders = model.SupportedOrders ?? new[] { GenerationOrders.SCurve(8, 8), GenerationOrders.ZigZag(8, 8) };
        return new CheckpointMetadata
        {
            Step = step, TrainingImages = 16, Height = 8, Width = 8,
            OrderSequences = orders.Select(o => o.Sequence.ToArray()).ToArray(),
            ModelType = definition.TypeName, ModelConfiguration = definition.WriteConfiguration(model.Configuration),
        };
    }

    private static Dictionary<string, Tensor> Parameters(IAutoregressiveImageModel model) =>
        model.Module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter.detach());

    public static TheoryData<ModelKind> Kinds()
    {
        var data = new TheoryData<ModelKind>();
        foreach (var kind in Enum.GetValues<ModelKind>()) data.Add(kind);
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_model_part_of_a_training_checkpoint_loads_either_model_with_its_weights_or_their_average(ModelKind kind)
    {
        using var scope = NewDisposeScope();
        using var trained = Tiny(kind, seed: 1);
        using var averaged = Tiny(kind, seed: 2);
        var path = PathOf("model.ckpt");
        var optimizer = new byte[] { 1, 2, 3 };
        var generator = new byte[] { 9, 8, 7, 6 };
        TrainingCheckpointFile.Save(path, new TrainingCheckpointSections(MetadataOf(trained), optimizer, generator), trained.Module.state_dict(), Parameters(averaged));

        PixelCnnCheckpoint.DetectFormat(path).Should().Be(CheckpointFormat.Training);
        TrainingCheckpointFile.HasWeightAverage(path).Should().BeTrue();
        var x = TinyModels.Images(TinyModels.Grey(8), 2, seed: 3);
        var order = trained.SupportedOrders?[0] ?? GenerationOrders.SCurve(8, 8);
        using (var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions()))
        {
            loaded.Kind.Should().Be(kind);
            loaded.Metadata!.Step.Should().Be(5);
            loaded.Model.Configuration.Should().Be(trained.Configuration);
            loaded.Model.LogLikelihood(x, order).Equals(trained.LogLikelihood(x, order)).Should().BeTrue();
        }
        using (var average = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { MovingAverageWeights = true }))
        {
            average.UsedAverage.Should().BeTrue();
            average.Model.LogLikelihood(x, order).Equals(averaged.LogLikelihood(x, order)).Should().BeTrue();
        }

        // The trainer's sections come back as written, and the model's tensors load in place into a model of the same shape.
        using var target = Tiny(kind, seed: 4);
        var sections = TrainingCheckpointFile.Load(path, target.Module.state_dict(), null);
        sections.OptimizerState.Should().Equal(optimizer);
        sections.GeneratorState.Should().Equal(generator);
        sections.Metadata.Should().BeEquivalentTo(MetadataOf(trained));
        target.LogLikelihood(x, order).Equals(trained.LogLikelihood(x, order)).Should().BeTrue();
    }

    [Fact]
    public void A_refused_or_failed_load_changes_nothing_and_a_file_without_optimizer_state_says_so()
    {
        using var scope = NewDisposeScope();
        using var source = Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 5);
        using var target = Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 6);
        var path = PathOf("plain.ckpt");
        TrainingCheckpointFile.Save(path, new TrainingCheckpointSections(MetadataOf(source), null, Array.Empty<byte>()), source.Module.state_dict(), null);
        var before = Parameters(target).ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        TrainingCheckpointSections? seen = null;
        FluentActions.Invoking(() => TrainingCheckpointFile.Load(path, target.Module.state_dict(), null, accept: s =>
        {
            seen = s;
            throw new InvalidDataException("refused");
        })).Should().Throw<InvalidDataException>().WithMessage("refused");
        seen!.OptimizerState.Should().BeNull("the file was written without an optimizer section");
        FluentActions.Invoking(() => TrainingCheckpointFile.Load(path, target.Module.state_dict(), null, apply: _ => throw new IOException("late")))
            .Should().Throw<IOException>();
        foreach (var (name, value) in Parameters(target)) value.Equals(before[name]).Should().BeTrue($"{name} is put back");

        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(path)).Should().Throw<InvalidDataException>().WithMessage($"{path}: checksum mismatch*");
    }

    [Fact]
    public void A_training_checkpoint_of_a_model_the_catalog_does_not_know_is_refused_with_its_name()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny(ModelKind.LocallyMaskedPixelCnn, seed: 7);
        var path = PathOf("foreign.ckpt");
        var metadata = MetadataOf(model) with { ModelType = "Other.Model" };
        TrainingCheckpointFile.Save(path, new TrainingCheckpointSections(metadata, null, Array.Empty<byte>()), model.Module.state_dict(), null);

        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(path)).Should().Throw<InvalidDataException>()
            .WithMessage($"{path}: *'Other.Model'*cannot build*LocallyMaskedPixelCnn*PixelCnnPlusPlus*");
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadAverage(new[] { path })).Should().Throw<InvalidDataException>().WithMessage($"{path}: *'Other.Model'*");
        CheckpointMetadata.Read(path).Invoking(m => m.Definition()).Should().Throw<InvalidDataException>();
    }
}
