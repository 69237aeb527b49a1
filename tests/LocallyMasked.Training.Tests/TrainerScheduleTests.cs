using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>What a trainer draws and schedules step by step: learning rates, orders, dropout generators.</summary>
public sealed class TrainerScheduleTests
{
    [Fact]
    public void LearningRateDecaysExponentiallyPerStep()
    {
        var data = TrainerTests.Images(8, 4, grey: false);
        var (model, trainer) = TrainerTests.Create(data, new TrainerOptions { BatchSize = 4, LearningRate = 0.01, LearningRateDecay = 0.9 });
        using (model)
        using (trainer)
        {
            var reports = new List<TrainingProgress>();
            trainer.Train(3, new SynchronousProgress(reports.Add));
            reports.Select(r => r.LearningRate).Should().Equal(new[] { 0.01, 0.009, 0.0081 }, (a, b) => Math.Abs(a - b) < 1e-12);
            reports.Select(r => r.Step).Should().Equal(1, 2, 3);
        }
    }

    [Fact]
    public void LearningRateDecaysOncePerEpochWhenAsked()
    {
        // 8 images in batches of 4: two steps per epoch.
        var data = TrainerTests.Images(8, 4, grey: false);
        var (model, trainer) = TrainerTests.Create(data, new TrainerOptions
        {
            BatchSize = 4, LearningRate = 0.01, LearningRateDecay = 0.9, DecayEvery = LearningRateDecayUnit.Epoch,
        });
        using (model)
        using (trainer)
        {
            trainer.StepsPerEpoch.Should().Be(2);
            var reports = new List<TrainingProgress>();
            trainer.Train(5, new SynchronousProgress(reports.Add));
            reports.Select(r => r.LearningRate).Should().Equal(new[] { 0.01, 0.01, 0.009, 0.009, 0.0081 }, (a, b) => Math.Abs(a - b) < 1e-12);
        }
    }

    [Fact]
    public void PerBatchOrderSamplingSharesOneOrder()
    {
        var data = TrainerTests.Images(8, 4, grey: false);
        var seen = new List<int>();
        var model = new TinyAutoregressiveModel(16, 1);
        NegativeLogLikelihood spy = (x, orders, dropout) => { seen.Add(orders.Count); return model.NegativeLogLikelihood(x, orders, dropout); };
        using var trainer = new Trainer(model, spy, TrainerTests.Orders(4), data, null, new TrainerOptions { BatchSize = 4, OrderSampling = OrderSampling.PerBatch });
        trainer.Train(3);
        seen.Should().Equal(1, 1, 1);
        var perImage = new List<int>();
        NegativeLogLikelihood spy2 = (x, orders, dropout) => { perImage.Add(orders.Count); return model.NegativeLogLikelihood(x, orders, dropout); };
        using var trainer2 = new Trainer(model, spy2, TrainerTests.Orders(4), data, null, new TrainerOptions { BatchSize = 4 });
        trainer2.Train(2);
        perImage.Should().Equal(4, 4);
        model.Dispose();
    }

    [Fact]
    public void EveryTrainingStepPassesASeededDropoutGeneratorPerShardAndEvaluationsPassNone()
    {
        var data = TrainerTests.Images(8, 4, grey: false);
        // The objective draws once from the generator it is given: the draws show which generator each call got.
        List<double> Run(ulong seed, int workers, out int evaluations)
        {
            var draws = new List<double>();
            var unseeded = 0;
            using var model = new TinyAutoregressiveModel(16, 1);
            NegativeLogLikelihood spy = (x, orders, dropout) =>
            {
                lock (draws)
                {
                    if (dropout is null) unseeded++;
                    else draws.Add(rand(new long[] { 1 }, generator: dropout, dtype: ScalarType.Float64).item<double>());
                }
                return model.NegativeLogLikelihood(x, orders, dropout);
            };
            using var trainer = new Trainer(model, spy, TrainerTests.Orders(4), data, data,
                new TrainerOptions { BatchSize = 4, Seed = seed, Workers = workers });
            trainer.Train(3);
            unseeded.Should().Be(0, "every training call gets a generator");
            trainer.EvaluateTest();
            evaluations = unseeded;
            return draws;
        }

        var one = Run(5, 1, out var evaluations);
        evaluations.Should().BeGreaterThan(0, "an evaluation has no dropout to draw");
        one.Should().HaveCount(3).And.OnlyHaveUniqueItems("each step has a generator of its own");
        Run(5, 1, out _).Should().Equal(one, "the generators are a function of the seed and the step");
        Run(6, 1, out _).Should().NotIntersectWith(one, "and of the seed");
        var two = Run(5, 2, out _);
        two.Should().HaveCount(6).And.OnlyHaveUniqueItems("each shard of a step has a generator of its own");
        two.Should().Contain(one, "shard 0 of a step draws what the step draws in one pass");
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
