using System.Runtime.CompilerServices;
using System.Text.Json;
using LocallyMasked.Checkpoints;
using LocallyMasked.Layers;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Fidelity;

/// <summary>
/// Checkpoints written the way the authors' <c>main.py</c> writes them, with random weights, for every normalization,
/// with and without mask weight and bias, kernel 3 and 5, dilation 1 to 3, every likelihood head, both torch formats
/// (Fixtures/make_fidelity_fixtures.py runs their model.py and utils.py to make them and to compute the likelihoods).
/// Loading uses nothing but the file: configuration and orders come from its <c>args</c>.
/// </summary>
public class ReferenceCheckpointTests
{
    private const double RelativeTolerance = 1e-5;

    private static string FixtureFolder([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "Fixtures");

    private static readonly Lazy<JsonElement[]> Files = new(() =>
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureFolder(), "models.json")));
        return json.RootElement.GetProperty("files").EnumerateArray().Select(e => e.Clone()).ToArray();
    });

    private static JsonElement Entry(string file) => Files.Value.Single(e => e.GetProperty("file").GetString() == file);

    private static IEnumerable<string> FilesOfKind(string kind) =>
        Files.Value.Where(e => e.GetProperty("kind").GetString() == kind).Select(e => e.GetProperty("file").GetString()!);

    /// <summary>Every checkpoint with its likelihoods, by file name.</summary>
    public static TheoryData<string> Checkpoints() => new(FilesOfKind("checkpoint"));

    /// <summary>Every file whose args contradict its tensors or name what neither side knows.</summary>
    public static TheoryData<string> BadInputs() => new(FilesOfKind("bad_input"));

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Evaluating_a_checkpoint_of_their_code_gives_their_likelihoods(string file)
    {
        var entry = Entry(file);
        var path = Path.Combine(FixtureFolder(), file);
        foreach (var movingAverage in new[] { false, true })
        {
            using var scope = NewDisposeScope();
            using var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { DType = ScalarType.Float64, MovingAverageWeights = movingAverage });
            loaded.Notes.Should().BeEmpty("the file's args record every setting");
            loaded.UsedAverage.Should().Be(movingAverage);
            var config = entry.GetProperty("config");
            (loaded.LocallyMaskedPixelCnn.Config.Height, loaded.LocallyMaskedPixelCnn.Config.Width).Should().Be((config.GetProperty("height").GetInt32(), config.GetProperty("width").GetInt32()));
            loaded.LocallyMaskedPixelCnn.Config.MaxDilation.Should().Be(config.GetProperty("max_dilation").GetInt32());

            // The orders, rebuilt from the args alone, are theirs.
            var expectedOrders = entry.GetProperty("orders").EnumerateArray().Select(o => OrderFromRowsCols(o.GetProperty("rows_cols"), loaded.LocallyMaskedPixelCnn.Config.Width)).ToArray();
            loaded.Orders.Should().NotBeNull();
            loaded.Orders!.Select(o => o.Sequence.ToArray()).Should().BeEquivalentTo(expectedOrders, options => options.WithStrictOrdering());

            var images = entry.GetProperty("images");
            var shape = images.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            var x = tensor(images.GetProperty("values").EnumerateArray().SelectMany(Flatten).ToArray(), shape, ScalarType.Float64);
            var nll = entry.GetProperty("nll").GetProperty(movingAverage ? "ema" : "model");
            var perOrder = nll.GetProperty("per_order").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            var ensemble = nll.GetProperty("ensemble").EnumerateArray().Select(v => v.GetDouble()).ToArray();

            using var noGrad = no_grad();
            var ours = (-loaded.Model.PerOrderLogLikelihoods(x, loaded.Orders)).data<double>().ToArray();
            int orders = loaded.Orders.Count;
            for (int i = 0; i < perOrder.Length; i++)
                for (int o = 0; o < orders; o++)
                    ours[i * orders + o].Should().BeApproximately(perOrder[i][o], RelativeTolerance * Math.Abs(perOrder[i][o]),
                        $"{file} ({(movingAverage ? "EMA" : "model")} weights), image {i}, order {o}");
            var oursEnsemble = (-loaded.Model.EnsembleLogLikelihood(x, loaded.Orders)).data<double>().ToArray();
            for (int i = 0; i < ensemble.Length; i++)
                oursEnsemble[i].Should().BeApproximately(ensemble[i], RelativeTolerance * Math.Abs(ensemble[i]), $"{file} ensemble, image {i}");
        }
    }

    [Fact]
    public void Every_normalization_mask_weight_bias_kernel_dilation_and_head_is_covered()
    {
        var configs = FilesOfKind("checkpoint").Select(f => Entry(f).GetProperty("config")).ToArray();
        configs.Select(c => c.GetProperty("normalization").GetString()).Distinct().Should().BeEquivalentTo("none", "weight_norm", "order_rescale", "pono");
        configs.Select(c => c.GetProperty("learn_weight_for_masks").GetBoolean()).Distinct().Should().HaveCount(2);
        configs.Select(c => c.GetProperty("conv_bias").GetBoolean()).Distinct().Should().HaveCount(2);
        configs.Select(c => c.GetProperty("kernel_size").GetInt32()).Distinct().Should().BeEquivalentTo(new[] { 3, 5 });
        configs.Select(c => c.GetProperty("max_dilation").GetInt32()).Distinct().Should().Contain(new[] { 2, 3 });
        configs.Select(c => c.GetProperty("likelihood").GetString()).Distinct().Should().HaveCount(3);
        FilesOfKind("checkpoint").Select(f => Entry(f).GetProperty("format").GetString()).Distinct().Should().BeEquivalentTo("zip", "legacy");
    }

    [Fact]
    public void A_state_dict_without_args_loads_with_the_published_settings_noted_as_assumed()
    {
        const string file = "checkpoints/s01_bare_state_dict_rgb8_pono_k3d2.pth";
        var entry = Entry(file);
        var template = new LocallyMasked.Models.PixelCnnConfig { Height = 8, Width = 8 };
        using var loaded = PixelCnnCheckpoint.LoadModel(Path.Combine(FixtureFolder(), file), new ModelLoadOptions { Template = template, DType = ScalarType.Float64 });
        loaded.Orders.Should().BeNull("a bare state dict records no orders");
        loaded.Notes.Select(n => (n.Setting, n.Value, n.IsOverride)).Should().Equal(("Normalization", "Pono", false), ("MaxDilation", "2", false));

        // With the assumptions right (they are the published settings), the likelihoods are theirs.
        var order = GenerationOrders.SCurve(8, 8);
        var images = entry.GetProperty("images");
        var x = tensor(images.GetProperty("values").EnumerateArray().SelectMany(Flatten).ToArray(),
            images.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(), ScalarType.Float64);
        var perOrder = entry.GetProperty("nll").GetProperty("model").GetProperty("per_order").EnumerateArray().Select(r => r[0].GetDouble()).ToArray();
        using var noGrad = no_grad();
        var ours = (-loaded.Model.LogLikelihood(x, order)).data<double>().ToArray();
        for (int i = 0; i < perOrder.Length; i++) ours[i].Should().BeApproximately(perOrder[i], RelativeTolerance * Math.Abs(perOrder[i]));

        // An explicit setting replaces the assumption (and is no override: the file records nothing).
        using var rescaled = PixelCnnCheckpoint.LoadModel(Path.Combine(FixtureFolder(), file),
            new ModelLoadOptions { Template = template, Normalization = FeatureNormalization.OrderRescale, MaxDilation = 3 });
        rescaled.Notes.Should().BeEmpty();
        (rescaled.LocallyMaskedPixelCnn.Config.Normalization, rescaled.LocallyMaskedPixelCnn.Config.MaxDilation).Should().Be((FeatureNormalization.OrderRescale, 3));
    }

    [Fact]
    public void An_explicit_setting_wins_over_the_args_and_is_reported_as_an_override()
    {
        const string file = "checkpoints/m13_rgb5_pono_k3d2.pth";
        using var loaded = PixelCnnCheckpoint.LoadModel(Path.Combine(FixtureFolder(), file),
            new ModelLoadOptions { Normalization = FeatureNormalization.None, MaxDilation = 1 });
        loaded.Notes.Select(n => (n.Setting, n.Value, n.FileValue)).Should().Equal(("Normalization", "None", "Pono"), ("MaxDilation", "1", "2"));
        (loaded.LocallyMaskedPixelCnn.Config.Normalization, loaded.LocallyMaskedPixelCnn.Config.MaxDilation).Should().Be((FeatureNormalization.None, 1));
        // Weight normalization is in the tensors: asking for it on plain weights is refused before anything is built.
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(Path.Combine(FixtureFolder(), file),
                new ModelLoadOptions { Normalization = FeatureNormalization.WeightNorm }))
            .Should().Throw<CheckpointException>().WithMessage("*plain convolution weights*");
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void A_file_whose_args_are_wrong_is_refused_with_every_problem_named(string file)
    {
        var entry = Entry(file);
        var act = () => PixelCnnCheckpoint.LoadModel(Path.Combine(FixtureFolder(), file));
        var message = act.Should().Throw<CheckpointException>().Which.Message;
        message.Should().Contain(file.Split('/')[^1], "the message names the file");
        var expected = Path.GetFileNameWithoutExtension(file) switch
        {
            "bad_args_kernel_size" => "kernel_size: args say 5, the tensors 3",
            "bad_args_mask_weight" => "mask weight (learn_weight_for_masks): args say False, the tensors True",
            "bad_args_weight_norm" => "weight normalization (normalization): args say True, the tensors False",
            "bad_args_nr_logistic_mix" => "nr_logistic_mix: args say 3, the tensors 2",
            "bad_args_no_bias" => "bias (no_bias): args say False, the tensors True",
            "bad_args_unknown_normalization" => "'batch_norm'",
            "bad_args_unknown_order" => "'zigzag'",
            var other => throw new InvalidOperationException($"No expectation for {other} ({entry.GetProperty("problem").GetString()})."),
        };
        message.Should().Contain(expected);
    }

    [Fact]
    public void Moving_average_weights_are_refused_for_a_file_without_them()
    {
        var path = Path.Combine(FixtureFolder(), "checkpoints/s01_bare_state_dict_rgb8_pono_k3d2.pth");
        FluentActions.Invoking(() => PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { MovingAverageWeights = true }))
            .Should().Throw<CheckpointException>().WithMessage("*moving average*");
    }

    private static int[] OrderFromRowsCols(JsonElement rowsCols, int width) =>
        rowsCols.EnumerateArray().Select(p => p[0].GetInt32() * width + p[1].GetInt32()).ToArray();

    private static IEnumerable<double> Flatten(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : new[] { e.GetDouble() };
}
