using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>Evaluations in shards on worker threads (<see cref="EvaluationWorkers"/>, what <c>lmconv evaluate --workers</c> uses).</summary>
public sealed class EvaluationWorkersTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ShardedEvaluationEqualsTheOnePassEvaluationInFloat64(int count)
    {
        // 11 images under 4 orders in batches of 12 pairs: 3 images per batch, so the last batch (2 images) has fewer
        // images than 3 workers.
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(4).ToArray();
        torch.manual_seed(5);
        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(), dtype: ScalarType.Float64);
        var digits = PixelCnnTrainingTests.Digits(12, 6);
        using var workers = new EvaluationWorkers(count);
        workers.Count.Should().Be(count);
        var here = LikelihoodEvaluation.Evaluate(model, digits, InputEncoding.DynamicBinarization, orders, 11, 12);
        var sharded = LikelihoodEvaluation.Evaluate(model, digits, InputEncoding.DynamicBinarization, orders, 11, 12, computeWith: workers.Wrap);
        sharded.Images.Should().Be(11);
        sharded.Ensemble.Should().BeApproximately(here.Ensemble, 1e-9);
        for (int k = 0; k < orders.Length; k++) sharded.PerOrder[k].Should().BeApproximately(here.PerOrder[k], 1e-9);
    }

    [Fact]
    public void ShardsRunWithoutGradientsAndKeepTheCallersThreadCount()
    {
        int before = get_num_threads();
        using var workers = new EvaluationWorkers(2, threads: 2);
        get_num_threads().Should().Be(before);
        using var weight = tensor(new[] { 2.0, 3.0 }).requires_grad_(true);
        var gradientsOn = new List<bool>();
        PerOrderLogLikelihoods perOrder = (x, orders) =>
        {
            lock (gradientsOn) gradientsOn.Add(is_grad_enabled());
            return (x.flatten(1).sum(1, keepdim: true) * weight[0]).expand(-1, orders.Count);
        };
        using var inputs = arange(5 * 4, dtype: ScalarType.Float64).view(5, 1, 2, 2);
        var orders = GenerationOrders.Raster(2, 2).Variants().Take(2).ToArray();
        using var result = workers.Wrap(perOrder)(inputs, orders);
        result.shape.Should().Equal(5, 2);
        result.requires_grad.Should().BeFalse();
        gradientsOn.Should().HaveCount(2).And.OnlyContain(on => !on);
        using var expected = inputs.flatten(1).sum(1) * 2;
        result.select(1, 1).data<double>().ToArray().Should().Equal(expected.data<double>().ToArray());
    }

    [Fact]
    public void BadCountsAreRefusedNamingTheArgument()
    {
        var noWorkers = () => new EvaluationWorkers(0);
        noWorkers.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "count");
        var negativeThreads = () => new EvaluationWorkers(2, -1);
        negativeThreads.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "threads");
    }
}
