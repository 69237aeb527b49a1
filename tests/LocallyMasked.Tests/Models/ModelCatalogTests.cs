using LocallyMasked.Layers;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Models;

/// <summary>
/// The model catalog: every <see cref="ModelKind"/> has one entry, and each entry round-trips name, kind, configuration
/// JSON and model; unknown names, recorded types and configuration types are refused with messages that list what exists.
/// </summary>
public class ModelCatalogTests
{
    /// <summary>A configuration of each kind with values that differ from its type's defaults.</summary>
    private static IImageModelConfig Sample(ModelKind kind) => kind switch
    {
        ModelKind.LocallyMaskedPixelCnn => new PixelCnnConfig
        {
            ImageChannels = 1, Height = 6, Width = 5, Filters = 4, ResidualBlocks = 2, KernelSize = 5, MaxDilation = 3, Dropout = 0.25,
            Normalization = FeatureNormalization.OrderRescale, Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 3, Bits = 5,
            ConvolutionBias = false, LearnWeightForMasks = true,
        },
        ModelKind.PixelCnnPlusPlus => new PixelCnnPlusPlusConfig
        {
            ImageChannels = 1, Height = 8, Width = 12, Filters = 4, ResidualBlocks = 2, Dropout = 0.125,
            Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 3, Bits = 6,
        },
        _ => throw new InvalidOperationException($"Add a sample configuration of {kind} to this test."),
    };

    public static TheoryData<ModelKind> Kinds()
    {
        var data = new TheoryData<ModelKind>();
        foreach (var kind in Enum.GetValues<ModelKind>()) data.Add(kind);
        return data;
    }

    [Fact]
    public void Every_kind_has_exactly_one_entry_with_a_unique_name_and_type()
    {
        ModelCatalog.Models.Select(d => d.Kind).Should().Equal(Enum.GetValues<ModelKind>());
        ModelCatalog.Names.Should().Equal(ModelCatalog.Models.Select(d => d.Name)).And.OnlyHaveUniqueItems();
        ModelCatalog.Names.Should().Equal("lmconv", "pixelcnn++");
        ModelCatalog.Models.Select(d => d.ModelType).Should().OnlyHaveUniqueItems();
        ModelCatalog.Models.Select(d => d.ConfigurationType).Should().OnlyHaveUniqueItems();
        ModelCatalog.Models.SelectMany(d => d.RecordedTypeNames).Should().OnlyHaveUniqueItems("a recorded type must name one model");
        foreach (var definition in ModelCatalog.Models)
        {
            typeof(IAutoregressiveImageModel).IsAssignableFrom(definition.ModelType).Should().BeTrue();
            typeof(IImageModelConfig).IsAssignableFrom(definition.ConfigurationType).Should().BeTrue();
            definition.ToString().Should().Be(definition.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_kind_round_trips_through_its_name_its_recorded_type_its_configuration_json_and_a_model(ModelKind kind)
    {
        using var scope = NewDisposeScope();
        var definition = ModelCatalog.Get(kind);
        definition.Kind.Should().Be(kind);
        ModelCatalog.Named(definition.Name).Should().BeSameAs(definition);
        ModelCatalog.TryGetNamed(definition.Name, out var named).Should().BeTrue();
        named.Should().BeSameAs(definition);
        foreach (var recorded in definition.RecordedTypeNames) ModelCatalog.ForRecordedType(recorded).Should().BeSameAs(definition);
        definition.TypeName.Should().Be(definition.ModelType.FullName);

        var config = Sample(kind);
        config.Should().BeOfType(definition.ConfigurationType);
        config.Should().NotBe(Activator.CreateInstance(definition.ConfigurationType), "the sample must exercise non-default values");
        ModelCatalog.For(config).Should().BeSameAs(definition);
        var json = definition.WriteConfiguration(config);
        json.Should().Be(config.ToJson());
        var read = definition.ReadConfiguration(json);
        read.Should().BeOfType(definition.ConfigurationType).And.Be(config);

        manual_seed(3);
        using var model = definition.Create(read, dtype: ScalarType.Float64);
        model.Should().BeOfType(definition.ModelType);
        model.Kind.Should().Be(kind);
        model.Configuration.Should().Be(config);
        model.DType.Should().Be(ScalarType.Float64);
        // A model rebuilt from its own recorded configuration has the same parameters, by name and shape.
        using var rebuilt = ModelCatalog.Create(definition.ReadConfiguration(definition.WriteConfiguration(model.Configuration)));
        rebuilt.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape).Should()
            .BeEquivalentTo(model.Module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape));
    }

    [Fact]
    public void The_oldest_training_checkpoints_which_record_no_type_hold_a_locally_masked_model()
    {
        ModelCatalog.ForRecordedType("").Kind.Should().Be(ModelKind.LocallyMaskedPixelCnn);
        ModelCatalog.ForRecordedType(null).Kind.Should().Be(ModelKind.LocallyMaskedPixelCnn);
        ModelCatalog.ForRecordedType(nameof(PixelCnnPlusPlus)).Kind.Should().Be(ModelKind.PixelCnnPlusPlus);
    }

    [Fact]
    public void Unknown_names_types_and_configurations_are_refused_with_what_exists()
    {
        FluentActions.Invoking(() => ModelCatalog.Named("pixelcnn")).Should().Throw<ArgumentException>()
            .WithMessage("Unknown model 'pixelcnn'; expected lmconv or pixelcnn++.*").And.ParamName.Should().Be("name");
        ModelCatalog.TryGetNamed("LMConv", out var none).Should().BeFalse("names are matched exactly");
        none.Should().BeNull();
        FluentActions.Invoking(() => ModelCatalog.ForRecordedType("Other.Model")).Should().Throw<InvalidDataException>()
            .WithMessage($"*'Other.Model'*cannot build*{typeof(LocallyMaskedPixelCnn).FullName}*{typeof(PixelCnnPlusPlus).FullName}*");
        FluentActions.Invoking(() => ModelCatalog.Get((ModelKind)7)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("kind");

        var foreign = new ForeignConfig();
        FluentActions.Invoking(() => ModelCatalog.For(foreign)).Should().Throw<ArgumentException>()
            .WithMessage("*ForeignConfig*PixelCnnConfig*PixelCnnPlusPlusConfig*");
        var lmconv = ModelCatalog.Get(ModelKind.LocallyMaskedPixelCnn);
        FluentActions.Invoking(() => lmconv.Create(new PixelCnnPlusPlusConfig())).Should().Throw<ArgumentException>()
            .WithMessage("*lmconv*PixelCnnConfig*got a PixelCnnPlusPlusConfig*").And.ParamName.Should().Be("configuration");
        FluentActions.Invoking(() => lmconv.WriteConfiguration(new PixelCnnPlusPlusConfig())).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => lmconv.ReadConfiguration(new PixelCnnPlusPlusConfig().ToJson() + "x")).Should().Throw<InvalidDataException>()
            .WithMessage("*not a PixelCnnConfig*");
        FluentActions.Invoking(() => ModelCatalog.Get(ModelKind.PixelCnnPlusPlus).ReadConfiguration("")).Should().Throw<InvalidDataException>()
            .WithMessage("No model configuration was recorded.");
        FluentActions.Invoking(() => ModelCatalog.Get(ModelKind.PixelCnnPlusPlus).ReadConfiguration(new PixelCnnPlusPlusConfig { Height = 6 }.ToJson()))
            .Should().Throw<InvalidDataException>().WithMessage("*invalid*Height*multiple of 4*");
    }

    [Fact]
    public void Only_the_model_that_takes_any_order_has_no_restriction_and_the_restriction_refuses_other_orders()
    {
        foreach (var definition in ModelCatalog.Models)
            (definition.OrderRestriction is null).Should().Be(definition.TakesAnyOrder, definition.Name);
        using var scope = NewDisposeScope();
        foreach (var definition in ModelCatalog.Models)
        {
            using var model = definition.Create(Sample(definition.Kind));
            (model.SupportedOrders is null).Should().Be(definition.TakesAnyOrder, definition.Name);
            if (definition.OrderRestriction is not { } restriction) continue;
            var config = model.Configuration;
            var other = GenerationOrders.SCurve(config.Height, config.Width);
            model.SupportsOrder(other).Should().BeFalse();
            FluentActions.Invoking(() => model.LogLikelihood(zeros(1, config.ImageChannels, config.Height, config.Width), other))
                .Should().Throw<ArgumentException>().WithMessage(restriction + "; got *Use LocallyMaskedPixelCnn for other orders.*");
        }
    }

    [Fact]
    public void The_parameter_channels_of_a_configuration_are_those_of_its_likelihood()
    {
        foreach (var kind in Enum.GetValues<LikelihoodKind>())
            foreach (int mixtures in new[] { 1, 3 })
            {
                int channels = kind == LikelihoodKind.RgbLogisticMixture ? 3 : 1;
                int expected = PixelLikelihood.Create(kind, mixtures, 8).ParameterChannels;
                new PixelCnnConfig { ImageChannels = channels, Likelihood = kind, MixtureComponents = mixtures }.ParameterChannels.Should().Be(expected);
                new PixelCnnPlusPlusConfig { ImageChannels = channels, Likelihood = kind, MixtureComponents = mixtures }.ParameterChannels.Should().Be(expected);
            }
    }

    private sealed class ForeignConfig : IImageModelConfig
    {
        public int ImageChannels => 1;
        public int Height => 4;
        public int Width => 4;
        public int Filters => 2;
        public int ResidualBlocks => 1;
        public int MixtureComponents => 1;
        public LikelihoodKind Likelihood => LikelihoodKind.Binary;
        public int Bits => 1;
        public double Dropout => 0;
        public int ParameterChannels => 2;
        public int PixelCount => 16;
        public int Dimensions => 16;
        public string ToJson() => "{}";
        public void Validate() { }
    }
}
