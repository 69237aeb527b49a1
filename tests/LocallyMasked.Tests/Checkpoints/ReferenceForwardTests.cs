using System.Runtime.CompilerServices;
using System.Text.Json;
using LocallyMasked.Checkpoints;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Checkpoints;

/// <summary>
/// The whole model against an independent pure-Python forward pass (Fixtures/reference_forward.py, plain loops
/// written from the reference code) on the weights of the legacy fixture: masks, locally masked convolutions,
/// PONO, concat_elu, gated blocks, skip wiring, the nin head and the grey logistic likelihood.
/// </summary>
public class ReferenceForwardTests
{
    private static string Fixture(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Fixtures", name);

    [Fact]
    public void Outputs_and_log_likelihoods_equal_the_independent_python_forward_pass()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture("reference_forward.json")));
        var image = json.RootElement.GetProperty("image").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var parameters = json.RootElement.GetProperty("parameters").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
        var logLikelihood = json.RootElement.GetProperty("log_likelihood").EnumerateArray().Select(e => e.GetDouble()).ToArray();

        var config = new PixelCnnConfig
        {
            ImageChannels = 1, Height = 6, Width = 6, Filters = 4, ResidualBlocks = 1,
            Likelihood = LikelihoodKind.GreyLogisticMixture, MixtureComponents = 2,
        };
        using var file = PixelCnnCheckpoint.LoadModel(Fixture("legacy_bare.pth"), new ModelLoadOptions { Template = config, DType = ScalarType.Float64 });
        var model = file.LocallyMaskedPixelCnn;
        var x = tensor(image, dtype: ScalarType.Float64).reshape(1, 1, 6, 6);
        var order = GenerationOrders.SCurve(6, 6);

        var output = model.forward(x, model.MasksFor(order)).reshape(6, 36).data<double>().ToArray();
        for (int m = 0; m < 6; m++)
            for (int p = 0; p < 36; p++)
                output[m * 36 + p].Should().BeApproximately(parameters[m][p], 1e-9, $"parameter {m} at pixel {p}");

        var perPixel = model.LogLikelihoodPerPixel(x, order).reshape(36).data<double>().ToArray();
        for (int p = 0; p < 36; p++) perPixel[p].Should().BeApproximately(logLikelihood[p], 1e-9, $"pixel {p}");
        model.LogLikelihood(x, order).item<double>().Should().BeApproximately(logLikelihood.Sum(), 1e-8);
    }
}
