using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Likelihoods;

public class SamplingTests
{
    /// <summary>Empirical frequencies of <paramref name="draws"/> samples of one pixel against exp(log-prob) of every value.</summary>
    private static void FrequenciesMatch(PixelLikelihood head, Tensor parameters, Tensor values, int draws)
    {
        manual_seed(11);
        var u = rand(draws, head.UniformsPerPixel, dtype: ScalarType.Float64);
        var samples = head.Sample(parameters.expand(draws, -1), u);
        samples.shape.Should().Equal(draws, head.ImageChannels);
        int count = (int)values.shape[0];
        var probabilities = head.LogProbability(values, parameters.expand(count, -1)).exp();
        for (int v = 0; v < count; v++)
        {
            var hits = (samples - values[v].unsqueeze(0)).abs().lt(1e-9).all(1).sum().item<long>();
            double p = probabilities[v].item<double>();
            double tolerance = 5 * Math.Sqrt(p * (1 - p) / draws) + 1e-3;
            ((double)hits / draws).Should().BeApproximately(p, tolerance, $"value {v}");
        }
        // Every sample is one of the values.
        var matched = (samples.unsqueeze(1) - values.unsqueeze(0)).abs().lt(1e-9).all(2).any(1).all().item<bool>();
        matched.Should().BeTrue();
    }

    [Fact]
    public void Grey_samples_follow_the_discretized_distribution()
    {
        var head = new GreyLogisticMixture(2, 2);
        var p = tensor(new double[] { 0.3, -0.2, -0.4, 0.5, -1.0, -0.5 }, dtype: ScalarType.Float64).reshape(1, 6);
        var values = tensor(new double[] { -1, -1.0 / 3, 1.0 / 3, 1 }, dtype: ScalarType.Float64).reshape(4, 1);
        FrequenciesMatch(head, p, values, 40000);
    }

    [Fact]
    public void Rgb_samples_follow_the_coupled_distribution_at_one_bit()
    {
        var head = new RgbLogisticMixture(2, 1);
        manual_seed(5);
        var p = randn(1, 20, dtype: ScalarType.Float64);
        // Strong coupling so that using the rounded red value matters.
        p[0, TensorIndex.Slice(2 + 4, 2 + 6)] = full(2, 2.0, dtype: ScalarType.Float64);
        var colours = new List<double>();
        for (int c = 0; c < 8; c++) colours.AddRange(new double[] { (c >> 2) * 2 - 1, ((c >> 1) & 1) * 2 - 1, (c & 1) * 2 - 1 });
        var values = tensor(colours.ToArray(), dtype: ScalarType.Float64).reshape(8, 3);
        FrequenciesMatch(head, p, values, 40000);
    }

    [Fact]
    public void Binary_samples_follow_the_softmax()
    {
        var head = new BinaryLikelihood();
        var p = tensor(new double[] { 0.2, -0.7 }, dtype: ScalarType.Float64).reshape(1, 2);
        var values = tensor(new double[] { -1, 1 }, dtype: ScalarType.Float64).reshape(2, 1);
        FrequenciesMatch(head, p, values, 40000);
    }

    [Fact]
    public void Sampling_is_a_deterministic_inverse_cdf_of_the_uniforms()
    {
        // One component: x = round(mean + exp(logScale) * T * logit(u)) to the 8-bit grid.
        var head = new GreyLogisticMixture(1, 8);
        var p = tensor(new double[] { 0.0, 0.1, -2.0 }, dtype: ScalarType.Float64).reshape(1, 3, 1, 1);
        foreach (var (u, t) in new[] { (0.3, 1.0), (0.9, 0.5), (0.01, 2.0), (0.0, 1.0) })
        {
            var uniforms = tensor(new[] { 0.5, u }, dtype: ScalarType.Float64).reshape(1, 2, 1, 1);
            var sample = head.Sample(p, uniforms, t).item<double>();
            double uc = Math.Clamp(u, 1e-5, 1 - 1e-5);
            double raw = Math.Clamp(0.1 + Math.Exp(-2.0) * t * (Math.Log(uc) - Math.Log(1 - uc)), -1, 1);
            double expected = Math.Round((raw + 1) * 127.5) / 127.5 - 1;
            sample.Should().BeApproximately(expected, 1e-12);
        }
    }

    [Fact]
    public void Component_choice_uses_the_first_uniform_as_an_inverse_cdf()
    {
        // Two far-apart, very narrow components with weights 0.25 / 0.75.
        var head = new GreyLogisticMixture(2, 8);
        var p = tensor(new double[] { Math.Log(0.25), Math.Log(0.75), -0.8, 0.8, -7, -7 }, dtype: ScalarType.Float64).reshape(1, 6);
        double Draw(double u0) => head.Sample(p, tensor(new[] { u0, 0.5 }, dtype: ScalarType.Float64).reshape(1, 2)).item<double>();
        Draw(0.2).Should().BeLessThan(0);
        Draw(0.3).Should().BeGreaterThan(0);
        Draw(0.999999).Should().BeGreaterThan(0);
    }

    [Fact]
    public void Low_temperature_concentrates_on_the_most_likely_component_and_the_mean()
    {
        var head = new GreyLogisticMixture(2, 8);
        var p = tensor(new double[] { 0.0, 1.0, -0.5, 0.5, -1, -1 }, dtype: ScalarType.Float64).reshape(1, 6);
        manual_seed(3);
        var u = rand(1000, 2, dtype: ScalarType.Float64);
        var samples = head.Sample(p.expand(1000, -1), u, 0.01);
        (samples - 0.5).abs().max().item<double>().Should().BeLessThan(0.05);
    }

    [Fact]
    public void Bad_uniform_shapes_and_temperatures_are_rejected()
    {
        var head = new RgbLogisticMixture(1);
        var p = zeros(2, 10, 3, 3, dtype: ScalarType.Float64);
        var act = () => head.Sample(p, zeros(2, 3, 3, 3, dtype: ScalarType.Float64));
        act.Should().Throw<ArgumentException>().WithParameterName("uniforms");
        act = () => head.Sample(p, zeros(2, 4, 3, 3, dtype: ScalarType.Float64), 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
        head.Sample(p, rand(2, 4, 3, 3, dtype: ScalarType.Float64)).shape.Should().Equal(2, 3, 3, 3);
    }
}
