using System.Runtime.CompilerServices;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// Files in the legacy torch.save format of the published checkpoints (torch 1.3), written by an independent Python
/// script (Fixtures/make_legacy_checkpoints.py) that fakes the torch and numpy globals.
/// </summary>
public class LegacyCheckpointTests
{
    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    private static readonly PixelCnnConfig TinyGrey = new()
    {
        ImageChannels = 1, Height = 6, Width = 6, Filters = 4, ResidualBlocks = 1,
        Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 2,
    };

    /// <summary>The script's values: float32(0.3 sin(0.37 t + 0.011 i)) for the t-th key in ordinal order.</summary>
    private static void ValuesMatchTheScript(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var keys = stateDict.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        for (int t = 0; t < keys.Length; t++)
        {
            var actual = stateDict[keys[t]].to(ScalarType.Float32).contiguous().data<float>().ToArray();
            var expected = Enumerable.Range(0, actual.Length).Select(i => (float)(0.3 * Math.Sin(0.37 * t + 0.011 * i))).ToArray();
            actual.Should().Equal(expected, keys[t]);
        }
    }

    [Fact]
    public void A_full_legacy_checkpoint_with_optimizer_state_arguments_and_numpy_scalars_loads()
    {
        var path = Fixture("legacy_full.pth");
        PixelCnnCheckpoint.IsPyTorchFile(path).Should().BeTrue();
        var sd = PixelCnnCheckpoint.ReadPyTorchStateDict(path);
        sd.Keys.Should().NotContain(k => k.StartsWith("module.", StringComparison.Ordinal));
        sd.Values.Should().OnlyContain(t => t.dtype == ScalarType.Float32);
        ValuesMatchTheScript(sd);

        using var file = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { Template = TinyGrey, DType = ScalarType.Float64 });
        var model = file.LocallyMaskedPixelCnn;
        // Its args (an argparse.Namespace holding dataset, nr_filters, order and randomize_order) decide the image size
        // (MNIST, 28x28) and the orders; what they do not record is taken from the tensors or noted as assumed.
        model.Config.Should().Be(TinyGrey with { Height = 28, Width = 28 });
        file.Orders.Should().Equal(GenerationOrders.SCurve(28, 28).Variants());
        file.Notes.Select(n => (n.Setting, n.Value, n.IsOverride)).Should().Equal(("Normalization", "Pono", false), ("MaxDilation", "2", false));
        ValuesMatchTheScript(model.state_dict());
        model.parameters().Should().OnlyContain(p => p.requires_grad);
        var x = zeros(1, 1, 28, 28, dtype: ScalarType.Float64);
        var ll = model.LogLikelihood(x, file.Orders![1]).item<double>();
        double.IsFinite(ll).Should().BeTrue();
    }

    [Fact]
    public void A_bare_legacy_state_dict_loads_into_an_existing_model()
    {
        var path = Fixture("legacy_bare.pth");
        manual_seed(0);
        using var model = new LocallyMaskedPixelCnn(TinyGrey, dtype: ScalarType.Float32);
        PixelCnnCheckpoint.Load(model, path);
        ValuesMatchTheScript(model.state_dict());
        CheckpointConfigInference.Infer(PixelCnnCheckpoint.ReadPyTorchStateDict(path), TinyGrey with { Height = 8 })
            .Should().Be(TinyGrey with { Height = 8 });
    }

    [Fact]
    public void A_truncated_legacy_file_gives_a_clear_exception()
    {
        var bytes = File.ReadAllBytes(Fixture("legacy_full.pth"));
        var path = Path.Combine(Path.GetTempPath(), $"legacy-truncated-{Guid.NewGuid():N}.pth");
        try
        {
            foreach (var length in new[] { bytes.Length - 10, bytes.Length / 2, 20 })
            {
                File.WriteAllBytes(path, bytes[..length]);
                Action act = () => PixelCnnCheckpoint.ReadPyTorchStateDict(path);
                act.Should().Throw<CheckpointException>().WithMessage("*PyTorch checkpoint*");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
