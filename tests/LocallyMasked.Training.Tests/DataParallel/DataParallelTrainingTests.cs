using LocallyMasked.Models;
using LocallyMasked.MpiProbe;
using LocallyMasked.Training;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.DataParallel;

/// <summary>
/// Trainers of several processes (threads of this process, joined by <see cref="ThreadGroup"/>) against one process:
/// the same draws, the same update, the same state on every process.
/// </summary>
public sealed class DataParallelTrainingTests
{
    /// <summary>One process's run of <see cref="ProbeTraining"/> with <paramref name="workers"/> workers of one thread each.</summary>
    private static List<string> OneProcess(int workers, int steps = ProbeTraining.Steps, ScalarType dtype = ScalarType.Float32)
    {
        int threads = get_num_threads();
        set_num_threads(workers);   // one libtorch thread per worker
        try
        {
            var (model, trainer) = ProbeTraining.Create(null, workers, dtype: dtype);
            using (model)
            using (trainer)
            {
                trainer.Workers?.Count.Should().Be(workers > 1 ? workers : null);
                return ProbeTraining.Run(trainer, steps);
            }
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Processes_of_one_worker_make_bit_for_bit_the_run_of_one_process_with_as_many_workers(int processes)
    {
        // Dropout, a moving average, clipping, one order per image, batches of 5 in uneven shards, periodic evaluations of
        // 7 images in batches of 5 (the last with fewer images than shards). Each process starts from weights of its own
        // seed: process 0's must reach every process.
        var expected = OneProcess(processes);
        var group = new ThreadGroup(processes);
        var runs = group.Run(p =>
        {
            var (model, trainer) = Create(group.Members[p], workers: 1, modelSeed: 21 + p);
            using (model)
            using (trainer)
                return ProbeTraining.Run(trainer, ProbeTraining.Steps);
        });
        expected.Should().Contain(l => l.StartsWith("test ", StringComparison.Ordinal));
        foreach (var run in runs) run.Should().Equal(expected);
    }

    [Fact]
    public void Processes_of_several_workers_agree_with_each_other_and_with_one_process_to_rounding()
    {
        // 2 processes x 2 workers add the same four shards as 1 process x 4 workers, grouped ((s0 + s1) + (s2 + s3)): in
        // float64 the runs agree far below float32's resolution, and the processes agree bit for bit.
        var group = new ThreadGroup(2);
        var runs = group.Run(p =>
        {
            var (model, trainer) = Create(group.Members[p], workers: 2, dtype: ScalarType.Float64);
            using (model)
            using (trainer)
            {
                trainer.Train(ProbeTraining.Steps);
                return (trainer.StateDigest(), Weights(model));
            }
        });
        runs[1].Item1.Should().Be(runs[0].Item1, "every process holds the same state");
        int threads = get_num_threads();
        set_num_threads(4);
        try
        {
            var (model, trainer) = ProbeTraining.Create(null, workers: 4, dtype: ScalarType.Float64);
            using (model)
            using (trainer)
            {
                trainer.Train(ProbeTraining.Steps);
                var expected = Weights(model);
                runs[0].Item2.Zip(expected).Should().OnlyContain(pair => Math.Abs(pair.First - pair.Second) <= 1e-10);
                trainer.StateDigest().Should().NotBe(runs[0].Item1, "the sums are grouped differently (else this test shows nothing)");
            }
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void A_stop_asked_on_one_process_stops_every_process_after_the_same_step()
    {
        var group = new ThreadGroup(2);
        var runs = group.Run(p =>
        {
            using var stop = new CancellationTokenSource();
            var (model, trainer) = Create(group.Members[p], workers: 1);
            using (model)
            using (trainer)
                return ProbeTraining.Run(trainer, ProbeTraining.Steps, stop.Token, step =>
                {
                    if (step == 2 && p == 1) stop.Cancel();
                });
        });
        // Process 1 asks during step 3 (its request is seen when the step's shards are done): both finish step 3.
        runs[0].Should().Contain("stopped True at 3");
        runs[1].Should().Equal(runs[0]);
    }

    [Fact]
    public void Data_parallel_steps_and_evaluations_leave_no_live_tensors_on_any_thread()
    {
        // The small exact model of the trainer's tests (the PixelCNN's per-sample mask plans are released by the garbage
        // collector), two processes of two workers each, with the average and clipping on.
        var data = PixelCnnTrainingTests.Digits(16, 4);
        var orders = Orders.GenerationOrders.SCurve(4, 4).Variants().ToArray();
        var group = new ThreadGroup(2);
        var counts = group.Run(p =>
        {
            using var model = new TinyAutoregressiveModel(16, seed: 5);
            using var trainer = new Trainer(model, model.NegativeLogLikelihood, orders, data, data,
                new TrainerOptions { BatchSize = 6, EmaDecay = 0.5, MaxGradientNorm = 1, Encoding = InputEncoding.DynamicBinarization, Workers = 2 },
                group: group.Members[p]);
            // Tensors made on a worker and disposed on the caller's thread move the threads' counts in opposite directions.
            long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount
                           + trainer.Workers!.Run(_ => DisposeScopeManager.Statistics.ThreadTotalLiveCount).Sum();
            trainer.Train(1);
            long live = Live();
            trainer.Train(6);
            trainer.EvaluateTest(8, 4);
            return Live() - live;
        });
        counts.Should().Equal(0, 0);
    }

    [Fact]
    public void The_final_evaluation_on_a_group_equals_one_processs_on_its_workers()
    {
        var orders = GenerationOrders4();
        var expected = Evaluate(null, 2, orders);
        var group = new ThreadGroup(2);
        var reports = group.Run(p => Evaluate(group.Members[p], 1, orders));
        foreach (var report in reports)
        {
            report.PerOrder.Should().Equal(expected.PerOrder);
            report.Ensemble.Should().Be(expected.Ensemble);
        }
    }

    [Fact]
    public void Processes_that_train_with_other_settings_are_refused_naming_them()
    {
        var group = new ThreadGroup(3);
        var act = () => group.Run(p =>
        {
            var (model, trainer) = Create(group.Members[p], workers: 1, learningRate: p == 2 ? 0.02 : 0.01);
            model.Dispose();
            trainer.Dispose();
            return 0;
        });
        act.Should().Throw<AggregateException>().Which.InnerExceptions.Should().HaveCount(3).And.AllSatisfy(e =>
            e.Should().BeOfType<ArgumentException>().Which.Message.Should().StartWith(
                "process 2 of the data-parallel group of 3 trains with other settings, orders, model or data than process 0"));
    }

    [Fact]
    public void A_batch_with_fewer_images_than_the_groups_shards_is_refused()
    {
        var group = new ThreadGroup(3);
        var act = () => group.Run(p => Create(group.Members[p], workers: 2));
        act.Should().Throw<AggregateException>().Which.InnerExceptions.Should().AllSatisfy(e =>
            e.Should().BeOfType<ArgumentException>().Which.Message.Should().StartWith(
                "Expected at least one image per shard: 3 processes x 2 workers make 6 shards of a batch of 5"));
    }

    [Fact]
    public void A_resumed_group_continues_bit_for_bit_and_refuses_processes_that_read_another_state()
    {
        string dir = Directory.CreateTempSubdirectory("lm-group-").FullName;
        try
        {
            var group = new ThreadGroup(2);
            var straight = group.Run(p =>
            {
                var (model, trainer) = Create(group.Members[p], workers: 1);
                using (model)
                using (trainer)
                {
                    var lines = ProbeTraining.Run(trainer, 2);
                    trainer.Save(Path.Combine(dir, $"at2-{p}.ckpt"));
                    trainer.Train(3);
                    trainer.Save(Path.Combine(dir, $"at3-{p}.ckpt"));
                    return ProbeTraining.Run(trainer, ProbeTraining.Steps).Concat(lines).ToList();
                }
            });
            straight[1].Should().Equal(straight[0]);

            // Both read process 0's checkpoint of step 2: they continue as the uninterrupted run did.
            var resumed = group.Run(p =>
            {
                var (model, trainer) = Create(group.Members[p], workers: 1);
                using (model)
                using (trainer)
                {
                    trainer.Resume(Path.Combine(dir, "at2-0.ckpt"));
                    trainer.Train(3);
                    return ProbeTraining.Run(trainer, ProbeTraining.Steps);
                }
            });
            resumed[0].Should().Equal(straight[0].Take(resumed[0].Count));
            resumed[1].Should().Equal(resumed[0]);

            // Process 1 reads another step's checkpoint: both refuse, naming it.
            var act = () => group.Run(p =>
            {
                var (model, trainer) = Create(group.Members[p], workers: 1);
                using (model)
                using (trainer)
                    trainer.Resume(Path.Combine(dir, p == 1 ? "at3-1.ckpt" : "at2-0.ckpt"));
                return 0;
            });
            act.Should().Throw<AggregateException>().Which.InnerExceptions.Should().HaveCount(2).And.AllSatisfy(e =>
                e.Should().BeOfType<InvalidDataException>().Which.Message.Should().Contain(
                    "process 1 of the data-parallel group read another training state from it than process 0"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static readonly object ModelCreation = new();

    /// <summary><see cref="ProbeTraining.Create"/> on a member's thread: the models are made one at a time (each seeds the process's generator).</summary>
    private static (LocallyMaskedPixelCnn Model, Trainer Trainer) Create(IDataParallelGroup group, int workers, long modelSeed = 21,
        double learningRate = 0.01, ScalarType dtype = ScalarType.Float32)
    {
        LocallyMaskedPixelCnn model;
        lock (ModelCreation) model = ProbeTraining.CreateModel(modelSeed, dtype);
        return (model, ProbeTraining.CreateTrainer(model, group, workers, learningRate));
    }

    private static Orders.GenerationOrder[] GenerationOrders4() => Orders.GenerationOrders.SCurve(6, 6).Variants().Take(4).ToArray();

    /// <summary>A trained model's evaluation under four orders, 11 images, through the trainer's <see cref="Trainer.OnWorkers"/>.</summary>
    private static EvaluationReport Evaluate(IDataParallelGroup? group, int workers, IReadOnlyList<Orders.GenerationOrder> orders)
    {
        int threads = get_num_threads();
        if (group is null) set_num_threads(workers);
        try
        {
            var (model, trainer) = group is null ? ProbeTraining.Create(null, workers) : Create(group, workers);
            using (model)
            using (trainer)
            {
                trainer.Train(2);
                // 12 image x order pairs per batch: 3 images, split into shards over the group or the workers.
                return LikelihoodEvaluation.Evaluate(model, ProbeTraining.Data(), InputEncoding.DynamicBinarization, orders, 11, 12,
                    computeWith: trainer.OnWorkers);
            }
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    private static double[] Weights(LocallyMaskedPixelCnn model) =>
        model.parameters().SelectMany(p => p.detach().to(ScalarType.Float64).data<double>().ToArray()).ToArray();
}
