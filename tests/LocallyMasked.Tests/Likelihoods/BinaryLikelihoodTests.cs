using LocallyMasked.Likelihoods;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Tests.Likelihoods;

public class BinaryLikelihoodTests
{
    [Fact]
    public void Log_probabilities_are_log_softmax_entries_and_both_values_sum_to_one()
    {
        var head = new BinaryLikelihood();
        var p = tensor(new double[] { 0.3, -1.2, 2.0, 0.5 }, dtype: ScalarType.Float64).reshape(1, 2, 1, 2);
        var minus = head.LogProbability(full(1, 1, 1, 2, -1.0, dtype: ScalarType.Float64), p).data<double>().ToArray();
        var plus = head.LogProbability(full(1, 1, 1, 2, 1.0, dtype: ScalarType.Float64), p).data<double>().ToArray();
        double z0 = Math.Log(Math.Exp(0.3) + Math.Exp(2.0)), z1 = Math.Log(Math.Exp(-1.2) + Math.Exp(0.5));
        minus[0].Should().BeApproximately(0.3 - z0, 1e-12);
        plus[0].Should().BeApproximately(2.0 - z0, 1e-12);
        minus[1].Should().BeApproximately(-1.2 - z1, 1e-12);
        plus[1].Should().BeApproximately(0.5 - z1, 1e-12);
        (Math.Exp(minus[0]) + Math.Exp(plus[0])).Should().BeApproximately(1.0, 1e-12);
    }
}
