using LocallyMasked.Checkpoints;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>
/// Training in bf16-mixed precision: master weights, the gradients the optimizer gets, Adam's state and the weight
/// average stay float32; the loss falls as in float32; the precision is a setting stored in checkpoints; checkpoints of
/// either precision load bit for bit in the other; bad combinations are refused by name.
/// </summary>
public sealed class MixedPrecisionTrainingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-precision-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly IReadOnlyList<GenerationOrder> Orders = GenerationOrders.SCurve(6, 6).Variants().Take(2).ToArray();

    private static TrainerOptions Options(ComputePrecision precision) => new()
    {
        BatchSize = 4, LearningRate = 0.01, EmaDecay = 0.5, Encoding = InputEncoding.DynamicBinarization, Precision = precision, Seed = 3,
    };

    private static (LocallyMaskedPixelCnn Model, Trainer Trainer) Create(ImageDataset data, TrainerOptions options)
    {
        manual_seed(17);
        var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
        return (model, PixelCnnTraining.CreateTrainer(model, Orders, data, data, options));
    }

    [Fact]
    public void ABFloat16StepKeepsFloat32MasterWeightsGradientsAdamStateAndAverageAndLowersTheLossLikeFloat32()
    {
        var data = PixelCnnTrainingTests.Digits(4, 6);
        var losses = new Dictionary<ComputePrecision, (double Before, double After)>();
        foreach (var precision in ComputePrecision.All)
        {
            var (model, trainer) = Create(data, Options(precision));
            using (model)
            using (trainer)
            {
                double before = trainer.EvaluateTest();
                trainer.Train(40);
                losses[precision] = (before, trainer.EvaluateTest());
                model.parameters().Select(p => p.dtype).Should().OnlyContain(t => t == ScalarType.Float32, "master weights");
                model.parameters().Select(p => p.grad?.dtype).Should().OnlyContain(t => t == ScalarType.Float32, "the gradients Adam gets");
                var states = trainer.Optimizer.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
                states.Should().NotBeEmpty();
                states.SelectMany(s => new[] { s.exp_avg.dtype, s.exp_avg_sq.dtype }).Should().OnlyContain(t => t == ScalarType.Float32, "Adam's moments");
                trainer.Average!.Tensors.Values.Select(t => t.dtype).Should().OnlyContain(t => t == ScalarType.Float32, "the weight average");
            }
        }

        var (mixedBefore, mixedAfter) = losses[ComputePrecision.BFloat16Mixed];
        var (fullBefore, fullAfter) = losses[ComputePrecision.Float32];
        mixedAfter.Should().BeLessThan(mixedBefore * 0.8, "40 steps on the same 4 images fit them in bf16 too");
        fullAfter.Should().BeLessThan(fullBefore * 0.8);
        // Same seed, same draws: the runs differ by bf16 rounding only (the evaluations themselves are in each run's
        // precision), which the 40 steps carry on; bf16 must end no worse than a tenth above float32.
        mixedBefore.Should().BeApproximately(fullBefore, 0.01 * fullBefore);
        mixedAfter.Should().BeLessThan(1.1 * fullAfter);
    }

    [Fact]
    public void TheStepsReallyMultiplyInBFloat16AndLeaveNoLiveTensors()
    {
        var data = PixelCnnTrainingTests.Digits(8, 6);
        var results = new List<double[]>();
        foreach (var precision in ComputePrecision.All)
        {
            // One order, so that after the first step and evaluation every mask and plan the steps use is cached.
            manual_seed(17);
            var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
            var trainer = PixelCnnTraining.CreateTrainer(model, Orders.Take(1).ToArray(), data, data, Options(precision));
            using (model)
            using (trainer)
            {
                trainer.Train(1);
                trainer.EvaluateTest(8, 4);
                long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                results.Add(trainer.Train(4).ToArray());
                trainer.EvaluateTest(8, 4);
                DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(live, $"{precision}: steps free what they make");
            }
        }
        results[0].Should().NotEqual(results[1], "bf16 products round differently from float32's");
        results[1].Zip(results[0], (m, f) => Math.Abs(m - f) / f).Should().OnlyContain(d => d < 0.05);
    }

    [Fact]
    public void ThePrecisionIsStoredInCheckpointsAndCheckpointsOfEitherPrecisionLoadBitForBitInTheOther()
    {
        var data = PixelCnnTrainingTests.Digits(8, 6);
        string mixedPath = Path.Combine(dir, "mixed.ckpt"), fullPath = Path.Combine(dir, "full.ckpt");
        var (model, trainer) = Create(data, Options(ComputePrecision.BFloat16Mixed));
        using (model)
        using (trainer)
        {
            trainer.Train(2);
            trainer.Save(mixedPath);
            var metadata = CheckpointMetadata.Read(mixedPath);
            metadata.Options!["Precision"]!.GetValue<string>().Should().Be("bf16-mixed");
            TrainerOptions.FromMetadata(metadata).Precision.Should().BeSameAs(ComputePrecision.BFloat16Mixed);

            // A bf16-mixed checkpoint loads as a float32 model with the trainer's weights, bit for bit.
            using (var loaded = PixelCnnCheckpoint.LoadModel(mixedPath))
            {
                loaded.Model.DType.Should().Be(ScalarType.Float32);
                loaded.Model.Precision.Should().Be(ComputePrecision.Float32, "evaluation defaults to float32");
                foreach (var (name, value) in model.state_dict())
                    loaded.Model.Module.state_dict()[name].equal(value).all().item<bool>().Should().BeTrue(name);
            }

            // ...and resumes in a float32 trainer with the same weights and Adam state, which then trains in float32.
            var (other, resumed) = Create(data, Options(ComputePrecision.Float32));
            using (other)
            using (resumed)
            {
                resumed.Resume(mixedPath);
                foreach (var (name, value) in model.state_dict())
                    other.state_dict()[name].equal(value).all().item<bool>().Should().BeTrue(name);
                var ours = trainer.Optimizer.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
                var theirs = resumed.Optimizer.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
                for (int i = 0; i < ours.Length; i++)
                    theirs[i].exp_avg_sq.equal(ours[i].exp_avg_sq).all().item<bool>().Should().BeTrue($"Adam state {i}");
                resumed.Train(3);
                resumed.Save(fullPath);
            }
        }

        // The reverse: a float32 checkpoint resumes in a bf16-mixed trainer, weights bit for bit.
        TrainerOptions.FromMetadata(CheckpointMetadata.Read(fullPath)).Precision.Should().BeSameAs(ComputePrecision.Float32);
        using var fullModel = PixelCnnCheckpoint.LoadModel(fullPath);
        var (third, mixed) = Create(data, Options(ComputePrecision.BFloat16Mixed));
        using (third)
        using (mixed)
        {
            mixed.Resume(fullPath);
            foreach (var (name, value) in fullModel.Model.Module.state_dict())
                third.state_dict()[name].equal(value).all().item<bool>().Should().BeTrue(name);
            mixed.Step.Should().Be(3);
            mixed.Train(4).Should().OnlyContain(l => double.IsFinite(l));
        }
    }

    [Fact]
    public void SettingsWrittenBeforeThePrecisionExistedReadAsFloat32AndAnUnknownNameIsRefused()
    {
        var stored = new TrainerOptions { Precision = ComputePrecision.BFloat16Mixed }.ToJson();
        stored["Precision"]!.GetValue<string>().Should().Be("bf16-mixed");
        stored.Remove("Precision");
        TrainerOptions.FromMetadata(new CheckpointMetadata { Options = stored }).Precision.Should().BeSameAs(ComputePrecision.Float32);
        stored["Precision"] = "fp8";
        var act = () => TrainerOptions.FromMetadata(new CheckpointMetadata { Options = stored });
        act.Should().Throw<InvalidDataException>().WithMessage("*fp8*");
    }

    [Fact]
    public void BadCombinationsAreRefusedNamingWhatDoesNotFit()
    {
        var data = PixelCnnTrainingTests.Digits(4, 6);
        manual_seed(1);
        using var model64 = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary(), dtype: ScalarType.Float64);
        var float64 = () => PixelCnnTraining.CreateTrainer(model64, Orders, data, null, Options(ComputePrecision.BFloat16Mixed));
        float64.Should().Throw<ArgumentException>().WithMessage("*bf16-mixed*Float64*");
        var generic = () => new Trainer(model64, PixelCnnTraining.Objective(model64), Orders, data, null, Options(ComputePrecision.BFloat16Mixed));
        generic.Should().Throw<ArgumentException>().WithParameterName("options");

        using var model = new LocallyMaskedPixelCnn(PixelCnnTrainingTests.TinyBinary());
        var view = () => PixelCnnTraining.CreateTrainer(model.WithPrecision(ComputePrecision.BFloat16Mixed), Orders, data, null, Options(ComputePrecision.Float32));
        view.Should().Throw<ArgumentException>().WithParameterName("options").WithMessage("*bf16-mixed*32*");
        using var agreeing = PixelCnnTraining.CreateTrainer(model.WithPrecision(ComputePrecision.BFloat16Mixed), Orders, data, null,
            Options(ComputePrecision.BFloat16Mixed));
        agreeing.Options.Precision.Should().Be(ComputePrecision.BFloat16Mixed);
    }
}
