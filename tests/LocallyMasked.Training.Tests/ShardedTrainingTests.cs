using LocallyMasked.Layers;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>Batches split into shards computed at once on worker threads (<see cref="TrainerOptions.Workers"/>).</summary>
public sealed class ShardedTrainingTests
{
    private static readonly GenerationOrder[] Orders = GenerationOrders.SCurve(6, 6).Variants().Take(4).ToArray();

    private static (LocallyMaskedPixelCnn Model, Trainer Trainer) Create(int workers, double dropout = 0, int batch = 5, ScalarType dtype = ScalarType.Float64)
    {
        torch.manual_seed(21);
        var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary() with { Dropout = dropout }, dtype: dtype);
        var digits = PixelCnnTrainingTests.Digits(12, 6);
        var trainer = PixelCnnTraining.CreateTrainer(model, Orders, digits, digits, new TrainerOptions
        {
            BatchSize = batch, LearningRate = 0.01, Encoding = InputEncoding.DynamicBinarization, Workers = workers, Seed = 3,
        });
        return (model, trainer);
    }

    private static double[][] Parameters(LocallyMaskedPixelCnn model) =>
        model.parameters().Select(p => p.detach().to(ScalarType.Float64).data<double>().ToArray()).ToArray();

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ShardedStepsComputeTheWholeBatchStepInFloat64(int workers)
    {
        // 5 images in 2 or 3 uneven shards, one order per image: the same losses and the same weights after three steps.
        var (wholeModel, whole) = Create(1);
        var (shardedModel, sharded) = Create(workers);
        using (wholeModel) using (whole) using (shardedModel) using (sharded)
        {
            sharded.Workers!.Count.Should().Be(workers);
            var wholeLosses = whole.Train(3);
            var shardedLosses = sharded.Train(3);
            for (int i = 0; i < 3; i++) shardedLosses[i].Should().BeApproximately(wholeLosses[i], 1e-10 * Math.Abs(wholeLosses[i]));
            var (a, b) = (Parameters(wholeModel), Parameters(shardedModel));
            for (int p = 0; p < a.Length; p++)
                for (int i = 0; i < a[p].Length; i++)
                    b[p][i].Should().BeApproximately(a[p][i], 1e-10);
            // The periodic evaluation runs on the workers too: 11 images in batches of 5 (the last one has fewer images than workers).
            sharded.EvaluateTest(11, 5).Should().BeApproximately(whole.EvaluateTest(11, 5), 1e-9);
            // A final evaluation under all orders through the workers equals the one on this thread (3 images per batch).
            var digits = PixelCnnTrainingTests.Digits(12, 6);
            var here = LikelihoodEvaluation.Evaluate(shardedModel, digits, InputEncoding.DynamicBinarization, Orders, 11, 12);
            var onWorkers = LikelihoodEvaluation.Evaluate(shardedModel, digits, InputEncoding.DynamicBinarization, Orders, 11, 12, computeWith: sharded.OnWorkers);
            onWorkers.Ensemble.Should().BeApproximately(here.Ensemble, 1e-9);
            for (int k = 0; k < Orders.Length; k++) onWorkers.PerOrder[k].Should().BeApproximately(here.PerOrder[k], 1e-9);
        }
    }

    [Fact]
    public void ShardedRunsWithDropoutRepeatExactly()
    {
        var (firstModel, first) = Create(2, dropout: 0.4, dtype: ScalarType.Float32);
        var (secondModel, second) = Create(2, dropout: 0.4, dtype: ScalarType.Float32);
        var (plainModel, plain) = Create(2, dropout: 0, dtype: ScalarType.Float32);
        using (firstModel) using (first) using (secondModel) using (second) using (plainModel) using (plain)
        {
            var losses = first.Train(3);
            second.Train(3).Should().Equal(losses);
            plain.Train(3).Should().NotEqual(losses, "the shards' dropout must be applied");
            var (a, b) = (Parameters(firstModel), Parameters(secondModel));
            for (int p = 0; p < a.Length; p++) b[p].Should().Equal(a[p]);
        }
    }

    [Fact]
    public void AResumedShardedRunWithDropoutRepeatsTheUninterruptedOne()
    {
        // The shards' dropout generators are seeded from the step, so a resumed run draws what the uninterrupted one drew.
        string path = Path.Combine(Path.GetTempPath(), $"lm-sharded-{Guid.NewGuid():N}.ckpt");
        try
        {
            var (wholeModel, whole) = Create(2, dropout: 0.4, dtype: ScalarType.Float32);
            var (firstModel, first) = Create(2, dropout: 0.4, dtype: ScalarType.Float32);
            using (wholeModel) using (whole) using (firstModel) using (first)
            {
                var uninterrupted = whole.Train(5).ToList();
                var losses = first.Train(2).ToList();
                first.Save(path);
                torch.manual_seed(99);
                using var resumedModel = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary() with { Dropout = 0.4 });
                var digits = PixelCnnTrainingTests.Digits(12, 6);
                using var resumed = PixelCnnTraining.CreateTrainer(resumedModel, Orders, digits, digits, first.Options);
                resumed.Resume(path);
                losses.AddRange(resumed.Train(5));
                losses.Should().Equal(uninterrupted);
                var (a, b) = (Parameters(wholeModel), Parameters(resumedModel));
                for (int p = 0; p < a.Length; p++) b[p].Should().Equal(a[p]);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ShardedStepsLeaveNoLiveTensorsBehindOnAnyThread()
    {
        // The small exact model of the trainer's tests: the sharding's own tensors only. (The PixelCNN's per-sample
        // mask plans, made anew every step, are released with their masks by the garbage collector, sharded or not.)
        var data = PixelCnnTrainingTests.Digits(16, 4);
        using var model = new TinyAutoregressiveModel(16, seed: 5);
        using var trainer = new Trainer(model, model.NegativeLogLikelihood, GenerationOrders.SCurve(4, 4).Variants().ToArray(), data, data,
            new TrainerOptions { BatchSize = 6, EmaDecay = 0.5, MaxGradientNorm = 1, Encoding = InputEncoding.DynamicBinarization, Workers = 3 });
        // Tensors made on a worker and disposed on the caller's thread move the two threads' counts in opposite
        // directions: the sum over all threads is what a leak would raise.
        long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount
                       + trainer.Workers!.Run(_ => DisposeScopeManager.Statistics.ThreadTotalLiveCount).Sum();
        trainer.Train(1);
        long live = Live();
        trainer.Train(6);
        trainer.EvaluateTest(8, 4);
        Live().Should().Be(live);
    }

    [Fact]
    public void ShardsSkipFrozenParametersAndThoseTheLossDoesNotReach()
    {
        // autograd.grad would fail inside libtorch on a frozen parameter (a failure .NET cannot catch there) and returns
        // no gradient for an unused one: the sharded step must train the rest exactly as one pass does.
        var data = PixelCnnTrainingTests.Digits(16, 4);
        var orders = GenerationOrders.SCurve(4, 4).Variants().ToArray();
        (TinyAutoregressiveModel Model, Trainer Trainer) Make(int workers)
        {
            var model = new TinyAutoregressiveModel(16, seed: 5, withUnusedParameter: true);
            model.to(ScalarType.Float64);
            model.Bias.requires_grad = false;
            return (model, new Trainer(model, model.NegativeLogLikelihood, orders, data, data,
                new TrainerOptions { BatchSize = 6, Encoding = InputEncoding.DynamicBinarization, Workers = workers }));
        }

        var (wholeModel, whole) = Make(1);
        var (shardedModel, sharded) = Make(3);
        using (wholeModel) using (whole) using (shardedModel) using (sharded)
        {
            using var biasBefore = shardedModel.Bias.detach().clone();
            var losses = sharded.Train(3);
            var expected = whole.Train(3);
            for (int i = 0; i < 3; i++) losses[i].Should().BeApproximately(expected[i], 1e-10 * Math.Abs(expected[i]));
            var (a, b) = (wholeModel.parameters().ToArray(), shardedModel.parameters().ToArray());
            for (int p = 0; p < a.Length; p++)
                b[p].detach().data<double>().ToArray().Zip(a[p].detach().data<double>().ToArray())
                    .Should().OnlyContain(pair => Math.Abs(pair.First - pair.Second) <= 1e-10);
            shardedModel.Bias.detach().data<double>().ToArray().Should().Equal(biasBefore.data<double>().ToArray(), "a frozen parameter stays as it was");
            shardedModel.Unused!.grad.Should().BeNull();
            shardedModel.Unused.detach().data<double>().ToArray().Should().Equal(1.0, 1.0, 1.0);
        }
    }

    [Fact]
    public void WorkerCountsOutsideOneToTheBatchSizeAreRefused()
    {
        foreach (var workers in new[] { 0, 6 })
        {
            var act = () => new TrainerOptions { BatchSize = 5, Workers = workers }.Validate();
            act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "Workers" && e.Message.Contains("batch size"));
        }
    }

    [Fact]
    public void ChannelDropoutWithAGeneratorDropsWholeChannelsAndRepeats()
    {
        using var scope = NewDisposeScope();
        var x = rand(new long[] { 50, 80, 3, 3 }, dtype: ScalarType.Float64) + 1;
        Tensor Draw(ulong seed)
        {
            using var generator = new Generator(seed);
            return ChannelDropout.Apply(x, 0.25, generator);
        }

        var y = Draw(5);
        (Draw(5) - y).abs().max().item<double>().Should().Be(0, "the same generator seed draws the same channels");
        (Draw(6) - y).abs().max().item<double>().Should().BeGreaterThan(0);
        // Every channel of every image is either all zero or x / (1 - p); about a quarter are dropped.
        var ratio = (y / x).reshape(50 * 80, 9);
        var kept = ratio[.., 0].data<double>().ToArray();
        kept.Should().OnlyContain(v => v == 0 || Math.Abs(v - 1 / 0.75) < 1e-12);
        (ratio - ratio[.., 0..1]).abs().max().item<double>().Should().BeLessThan(1e-12);
        kept.Count(v => v == 0).Should().BeInRange(4000 / 4 - 120, 4000 / 4 + 120);
    }
}
