using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Sampling;

/// <summary>The cached sampler's CPU path draws pixels on the host; those draws equal the tensor version's.</summary>
public class HostSamplingTests
{
    [Theory]
    [InlineData(LikelihoodKind.Binary, 1.0)]
    [InlineData(LikelihoodKind.Binary, 0.6)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, 1.0)]
    [InlineData(LikelihoodKind.GreyLogisticMixture, 0.6)]
    [InlineData(LikelihoodKind.RgbLogisticMixture, 1.0)]
    [InlineData(LikelihoodKind.RgbLogisticMixture, 1.7)]
    public void Host_draws_equal_the_tensor_draws(LikelihoodKind kind, double temperature)
    {
        using var scope = NewDisposeScope();
        var likelihood = PixelLikelihood.Create(kind, 4, kind == LikelihoodKind.GreyLogisticMixture ? 5 : 8);
        using var generator = new Generator(3);
        const int n = 500;
        // Wide parameters, so that logits, log-scales below the clamp at -7, tanh and the clamping of values all occur.
        var parameters = torch.randn(new long[] { n, likelihood.ParameterChannels }, ScalarType.Float64, generator: generator) * 4;
        var uniforms = torch.rand(new long[] { n, likelihood.UniformsPerPixel }, ScalarType.Float64, generator: generator);
        var expected = likelihood.Sample(parameters, uniforms, temperature);

        var values = new double[n * likelihood.ImageChannels];
        likelihood.SampleRows(parameters.data<double>().ToArray(), uniforms.data<double>().ToArray(), temperature, values);
        var actual = torch.tensor(values, new long[] { n, likelihood.ImageChannels }, ScalarType.Float64);
        actual.equal(expected).all().item<bool>().Should().BeTrue();
    }
}
