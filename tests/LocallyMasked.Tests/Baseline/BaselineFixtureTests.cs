using LocallyMasked.Checkpoints;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Baseline;

/// <summary>
/// The PixelCNN++ baseline against the authors' own baseline.py: their checkpoints (zip and legacy formats) load
/// unchanged, and our log-likelihoods equal those of their loss functions in float64.
/// </summary>
public class BaselineFixtureTests
{
    private readonly ITestOutputHelper _output;

    public BaselineFixtureTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string, string> Files()
    {
        var data = new TheoryData<string, string>();
        foreach (var name in BaselineFixtures.ModelNames)
            foreach (var format in BaselineFixtures.Model(name).GetProperty("files").EnumerateObject())
                data.Add(name, format.Name);
        return data;
    }

    public static TheoryData<string> Models()
    {
        var data = new TheoryData<string>();
        foreach (var name in BaselineFixtures.ModelNames) data.Add(name);
        return data;
    }

    [Fact]
    public void The_fixtures_cover_their_three_heads_in_both_formats_and_the_binary_variant()
    {
        BaselineFixtures.ModelNames.Should().Equal("rgb8", "rgb5", "grey", "binary");
        foreach (var name in new[] { "rgb8", "rgb5", "grey" })
            BaselineFixtures.Model(name).GetProperty("files").EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("zip", "legacy");
        BaselineFixtures.Model("binary").GetProperty("head_replaced").GetBoolean().Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Their_checkpoint_loads_and_our_log_likelihoods_equal_theirs(string name, string format)
    {
        using var scope = NewDisposeScope();
        var fixture = BaselineFixtures.Model(name);
        var config = BaselineFixtures.Config(name);
        var path = BaselineFixtures.Path(fixture.GetProperty("files").GetProperty(format).GetString()!);
        var stateDict = PixelCnnCheckpoint.ReadStateDict(path);
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        model.eval();
        model.LoadStateDict(stateDict);

        var images = fixture.GetProperty("images").EnumerateArray().ToArray();
        var x = tensor(images.SelectMany(i => BaselineFixtures.Doubles(i.GetProperty("values"))).ToArray(), dtype: ScalarType.Float64)
            .reshape(images.Length, config.ImageChannels, config.Height, config.Width);
        var expected = images.Select(i => i.GetProperty("log_likelihood").GetDouble()).ToArray();
        var expectedPerPixel = images.SelectMany(i => BaselineFixtures.Doubles(i.GetProperty("log_likelihood_per_pixel"))).ToArray();

        var actual = model.LogLikelihood(x, GenerationOrders.Raster(config.Height, config.Width)).data<double>().ToArray();
        var actualPerPixel = model.LogLikelihoodPerPixel(x).data<double>().ToArray();

        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double relative = Math.Abs(actual[i] - expected[i]) / Math.Abs(expected[i]);
            worst = Math.Max(worst, relative);
            relative.Should().BeLessThan(1e-5, $"image {i}: ours {actual[i]:R}, theirs {expected[i]:R}");
        }
        double worstPixel = expectedPerPixel.Zip(actualPerPixel, (e, a) => Math.Abs(e - a)).Max();
        _output.WriteLine($"{name} ({format}): max relative NLL difference {worst:E2}, max per-pixel difference {worstPixel:E2} nats");
        worstPixel.Should().BeLessThan(1e-9);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void The_network_output_equals_theirs(string name)
    {
        using var scope = NewDisposeScope();
        var fixture = BaselineFixtures.Model(name);
        var config = BaselineFixtures.Config(name);
        using var model = new PixelCnnPlusPlus(config, dtype: ScalarType.Float64);
        model.eval();
        model.LoadStateDict(PixelCnnCheckpoint.ReadStateDict(BaselineFixtures.Path(fixture.GetProperty("files").GetProperty("legacy").GetString()!)));
        var image = BaselineFixtures.Doubles(fixture.GetProperty("images")[0].GetProperty("values"));
        var x = tensor(image, dtype: ScalarType.Float64).reshape(1, config.ImageChannels, config.Height, config.Width);

        var output = model.forward(x).data<double>().ToArray();
        var expected = BaselineFixtures.Doubles(fixture.GetProperty("output_image0"));
        output.Should().HaveCount(expected.Length);
        double worst = expected.Zip(output, (e, a) => Math.Abs(e - a)).Max();
        _output.WriteLine($"{name}: max output difference {worst:E2}");
        worst.Should().BeLessThan(1e-10);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_fresh_model_has_exactly_their_key_names_and_shapes(string name)
    {
        var expected = BaselineFixtures.Model(name).GetProperty("state_dict").EnumerateArray()
            .Select(e => (Key: e[0].GetString()!, Shape: string.Join(", ", e[1].EnumerateArray().Select(d => d.GetInt64())))).ToArray();
        using var model = new PixelCnnPlusPlus(BaselineFixtures.Config(name));
        var actual = model.state_dict().Select(kv => (Key: kv.Key, Shape: string.Join(", ", kv.Value.shape))).ToArray();

        actual.Select(k => k.Key).Except(expected.Select(k => k.Key)).Should().BeEmpty("no key of ours is unknown to their baseline.py");
        expected.Select(k => k.Key).Except(actual.Select(k => k.Key)).Should().BeEmpty("every key of theirs exists in our model");
        var shapes = expected.ToDictionary(k => k.Key, k => k.Shape);
        foreach (var (key, shape) in actual) shape.Should().Be(shapes[key], key);
        actual.Should().HaveSameCount(expected);

        // The modules come in their registration order too. (Inside a 1x1 layer the shared WeightNormalizedLinear
        // lists weight_v, weight_g, bias where PyTorch lists bias, weight_g, weight_v; loading goes by name.)
        static string[] Modules(IEnumerable<string> keys) =>
            keys.Select(k => k[..k.LastIndexOf('.')]).Aggregate(new List<string>(), (list, m) =>
            {
                if (list.Count == 0 || list[^1] != m) list.Add(m);
                return list;
            }).ToArray();
        Modules(actual.Select(k => k.Key)).Should().Equal(Modules(expected.Select(k => k.Key)));
    }

    [Fact]
    public void The_cifar10_preset_has_the_size_of_their_cifar10_baseline()
    {
        // baseline.PixelCNN(nr_resnet=5, nr_filters=160, nr_logistic_mix=10, input_channels=3): 99 R + 72 keys.
        using var model = new PixelCnnPlusPlus(PixelCnnPlusPlusConfig.Cifar10);
        model.state_dict().Should().HaveCount(567);
        model.parameters().Sum(p => p.numel()).Should().Be(53_659_080);
    }

    [Fact]
    public void The_fixtures_record_their_dropout_which_our_config_defaults_to()
    {
        foreach (var name in BaselineFixtures.ModelNames)
        {
            var fixture = BaselineFixtures.Model(name);
            fixture.GetProperty("dropout_in_model").EnumerateArray().Select(e => e.GetDouble()).Should().Equal(0.5);
            fixture.GetProperty("dropout_prob_arg").GetDouble().Should().Be(0.5);
        }
        new PixelCnnPlusPlusConfig().Dropout.Should().Be(0.5);
    }
}
