using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Likelihoods;

/// <summary>
/// Each likelihood draws pixels in two ways: <see cref="PixelLikelihood.Sample"/> on tensors, the definition (the naive
/// sampler and every device use it), and <see cref="PixelLikelihood.SampleRows"/> on the host, which the cached sampler's
/// CPU path uses to avoid dozens of torch operations per step. Every head, at every temperature and bit depth tried,
/// draws the same values both ways in float64.
/// </summary>
public class SampleRowsTests
{
    public static TheoryData<LikelihoodKind, int, double> Heads()
    {
        var data = new TheoryData<LikelihoodKind, int, double>();
        foreach (var kind in Enum.GetValues<LikelihoodKind>())
            foreach (int bits in kind == LikelihoodKind.Binary ? new[] { 1 } : new[] { 1, 5, 8, 16 })
                foreach (double temperature in new[] { 1.0, 0.6, 1.7 })
                    data.Add(kind, bits, temperature);
        return data;
    }

    [Theory]
    [MemberData(nameof(Heads))]
    public void Host_draws_equal_the_tensor_draws(LikelihoodKind kind, int bits, double temperature)
    {
        using var scope = NewDisposeScope();
        var likelihood = PixelLikelihood.Create(kind, 4, bits);
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
        // The draws spread over the values (a test that compared constants would pass vacuously).
        actual.unique().output.numel().Should().BeGreaterThan(1);
    }
}
