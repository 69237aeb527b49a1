using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Likelihoods;

public class LogisticMixtureTests
{
    private static double[] Flat(Tensor t) => t.contiguous().data<double>().ToArray();

    [Theory]
    [InlineData(8)]
    [InlineData(5)]
    public void Rgb_log_probabilities_equal_a_scalar_evaluation_including_edge_bins_and_the_fallback(int bits)
    {
        manual_seed(1);
        const int k = 3, n = 2, h = 3, w = 4;
        var parameters = randn(n, 10 * k, h, w, dtype: ScalarType.Float64) * 2.0;
        // Very small scales far from the mean force the < 1e-5 fallback; clamping at -7 is exercised too.
        parameters[0, TensorIndex.Slice(k + k, k + 2 * k)] = full(k, h, w, -9.0, dtype: ScalarType.Float64);
        var levels = randint(0, (long)Math.Pow(2, bits), new long[] { n, 3, h, w }, dtype: ScalarType.Float64);
        var x = levels * (2.0 / (Math.Pow(2, bits) - 1)) - 1.0;
        x[0, 0, 0, 0] = tensor(-1.0); x[0, 1, 0, 1] = tensor(1.0); x[1, 2, 2, 3] = tensor(-1.0);
        x[0, 0, 1, 1] = tensor(0.9); // far from any mean with log-scale -9: fallback branch

        var actual = new RgbLogisticMixture(k, bits).LogProbability(x, parameters);
        actual.shape.Should().Equal(n, h, w);

        var p = Flat(parameters.permute(0, 2, 3, 1));
        var xs = Flat(x.permute(0, 2, 3, 1));
        var got = Flat(actual);
        for (int i = 0; i < n * h * w; i++)
        {
            var expected = ScalarLogistic.Rgb(p.Skip(i * 10 * k).Take(10 * k).ToArray(), xs.Skip(i * 3).Take(3).ToArray(), k, bits);
            got[i].Should().BeApproximately(expected, 1e-9 * Math.Max(1, Math.Abs(expected)));
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(3)]
    public void Grey_log_probabilities_equal_a_scalar_evaluation(int bits)
    {
        manual_seed(2);
        const int k = 4, n = 3, h = 2, w = 5;
        var parameters = randn(n, 3 * k, h, w, dtype: ScalarType.Float64) * 2.0;
        parameters[1, TensorIndex.Slice(2 * k, 3 * k)] = full(k, h, w, -8.0, dtype: ScalarType.Float64);
        var levels = randint(0, (long)Math.Pow(2, bits), new long[] { n, 1, h, w }, dtype: ScalarType.Float64);
        var x = levels * (2.0 / (Math.Pow(2, bits) - 1)) - 1.0;

        var got = Flat(new GreyLogisticMixture(k, bits).LogProbability(x, parameters));
        var p = Flat(parameters.permute(0, 2, 3, 1));
        var xs = Flat(x.permute(0, 2, 3, 1));
        for (int i = 0; i < n * h * w; i++)
        {
            var expected = ScalarLogistic.Grey(p.Skip(i * 3 * k).Take(3 * k).ToArray(), xs[i], k, bits);
            got[i].Should().BeApproximately(expected, 1e-9 * Math.Max(1, Math.Abs(expected)));
        }
    }

    [Fact]
    public void The_fallback_branch_is_really_taken_by_the_test_parameters()
    {
        // log-scale -9 clamps to -7; a value 0.5 away from the mean has a bin probability far below 1e-5.
        double viaFallback = ScalarLogistic.LogBin(0.5, 0.0, -9.0, 8);
        double inv = Math.Exp(7.0), top = 255.0;
        double delta = 1 / (1 + Math.Exp(-inv * (0.5 + 1 / top))) - 1 / (1 + Math.Exp(-inv * (0.5 - 1 / top)));
        delta.Should().BeLessThan(1e-5);
        var x = full(1, 1, 1, 1, 0.5, dtype: ScalarType.Float64);
        var p = tensor(new double[] { 0.0, 0.0, -9.0 }, dtype: ScalarType.Float64).reshape(1, 3, 1, 1);
        new GreyLogisticMixture(1).LogProbability(x, p).item<double>().Should().BeApproximately(viaFallback, 1e-9);
    }

    [Fact]
    public void Grey_probabilities_of_all_256_levels_sum_to_one()
    {
        manual_seed(3);
        const int k = 5;
        var p = randn(1, 3 * k, 1, 1, dtype: ScalarType.Float64);
        p[0, TensorIndex.Slice(2 * k, 3 * k)] = rand(k, 1, 1, dtype: ScalarType.Float64) - 1.0; // log-scales in [-1, 0]
        var x = (arange(256, dtype: ScalarType.Float64) * (2.0 / 255) - 1).reshape(256, 1, 1, 1);
        var total = new GreyLogisticMixture(k).LogProbability(x, p.expand(256, -1, -1, -1)).exp().sum().item<double>();
        total.Should().BeApproximately(1.0, 1e-9);
    }

    [Fact]
    public void Rgb_probabilities_of_all_colours_at_three_bits_sum_to_one()
    {
        manual_seed(4);
        const int k = 2, bits = 3;
        var p = randn(1, 10 * k, 1, 1, dtype: ScalarType.Float64);
        var colours = new List<double[]>();
        for (int r = 0; r < 8; r++)
            for (int g = 0; g < 8; g++)
                for (int b = 0; b < 8; b++)
                    colours.Add(new[] { ScalarLogistic.Level(r, bits), ScalarLogistic.Level(g, bits), ScalarLogistic.Level(b, bits) });
        var x = tensor(colours.SelectMany(c => c).ToArray(), dtype: ScalarType.Float64).reshape(512, 3, 1, 1);
        var total = new RgbLogisticMixture(k, bits).LogProbability(x, p.expand(512, -1, -1, -1)).exp().sum().item<double>();
        total.Should().BeApproximately(1.0, 1e-9);
    }

    [Fact]
    public void Bin_half_width_follows_the_bit_depth()
    {
        // One component centred at 0 with scale 1: the bin of 0 at 5 bits has half-width 1/31.
        var p = tensor(new double[] { 0.0, 0.0, 0.0 }, dtype: ScalarType.Float64).reshape(1, 3, 1, 1);
        // 0 is no level at 5 bits, but the formula is defined everywhere in the interior.
        var x = full(1, 1, 1, 1, 0.0, dtype: ScalarType.Float64);
        double expected = Math.Log(1 / (1 + Math.Exp(-1.0 / 31)) - 1 / (1 + Math.Exp(1.0 / 31)));
        new GreyLogisticMixture(1, 5).LogProbability(x, p).item<double>().Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void Values_outside_the_unit_interval_and_wrong_shapes_are_rejected()
    {
        var grey = new GreyLogisticMixture(2);
        var p = zeros(1, 6, 2, 2, dtype: ScalarType.Float64);
        var act = () => grey.LogProbability(full(1, 1, 2, 2, 1.5, dtype: ScalarType.Float64), p);
        act.Should().Throw<ArgumentException>().WithParameterName("x");
        act = () => grey.LogProbability(zeros(1, 3, 2, 2, dtype: ScalarType.Float64), p);
        act.Should().Throw<ArgumentException>().WithParameterName("x");
        act = () => grey.LogProbability(zeros(1, 1, 2, 2, dtype: ScalarType.Float64), zeros(1, 7, 2, 2, dtype: ScalarType.Float64));
        act.Should().Throw<ArgumentException>().WithParameterName("parameters");
        var binary = new BinaryLikelihood();
        act = () => binary.LogProbability(zeros(1, 1, 2, 2, dtype: ScalarType.Float64), zeros(1, 2, 2, 2, dtype: ScalarType.Float64));
        act.Should().Throw<ArgumentException>().WithParameterName("x");
    }
}
