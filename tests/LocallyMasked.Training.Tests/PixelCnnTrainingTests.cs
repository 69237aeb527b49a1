using LocallyMasked.TestSupport;
using LocallyMasked.Training.Data;
using LocallyMasked.Likelihoods;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;
using LocallyMasked.Training.Evaluation;
using LocallyMasked.Checkpoints;

namespace LocallyMasked.Training.Tests;

public sealed class PixelCnnTrainingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-pixelcnn-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    internal static PixelCnnConfig TinyBinary(int side = 6) => PixelCnnConfig.BinarizedMnist with
    {
        Height = side, Width = side, Filters = 6, ResidualBlocks = 1,
    };

    internal static ImageDataset Digits(int count, int side)
    {
        // Crops of the embedded digits' centres: real structure at a tiny size.
        var root = RepositoryFiles.Find("data/mnist-subset");
        var full = IdxReader.Read(Path.Combine(root, "test-images-idx3-ubyte.gz"), Path.Combine(root, "test-labels-idx1-ubyte.gz"));
        var pixels = new byte[count * side * side];
        int offset = (28 - side) / 2;
        for (int i = 0; i < count; i++)
            for (int r = 0; r < side; r++)
                for (int c = 0; c < side; c++)
                    pixels[(i * side + r) * side + c] = full.Image(i)[(r + offset) * 28 + c + offset];
        return new ImageDataset(pixels, new byte[count], 1, side, side, "digit crops");
    }

    [Fact]
    public void TrainingTheRealModelOnATinyBatchLowersItsLoss()
    {
        torch.manual_seed(11);
        var data = Digits(4, 6);
        using var model = new LocallyMaskedPixelCnn(TinyBinary(), dtype: ScalarType.Float64);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(2).ToArray();
        using var trainer = PixelCnnTraining.CreateTrainer(model, orders, data, data,
            new TrainerOptions { BatchSize = 4, LearningRate = 0.01, Encoding = InputEncoding.DynamicBinarization });
        double before = trainer.EvaluateTest();
        trainer.Train(40);
        double after = trainer.EvaluateTest();
        after.Should().BeLessThan(before * 0.8, "40 Adam steps on the same 4 images must fit them");
    }

    [Fact]
    public void EvaluationMatchesTheModelPerOrderAndTheEnsembleMixesThem()
    {
        torch.manual_seed(3);
        var data = Digits(5, 6);
        using var model = new LocallyMaskedPixelCnn(TinyBinary(), dtype: ScalarType.Float64);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(3).ToArray();
        var report = LikelihoodEvaluation.Evaluate(model, data, InputEncoding.DynamicBinarization, orders, batchSize: 4);

        using var x = Trainer.EncodeFixed(data, Enumerable.Range(0, 5).ToArray(), InputEncoding.DynamicBinarization, CPU, ScalarType.Float64);
        using var noGrad = no_grad();
        var perOrder = orders.Select(o => { using var ll = model.LogLikelihood(x, o); return ll.data<double>().ToArray(); }).ToArray();
        for (int o = 0; o < 3; o++) report.PerOrder[o].Should().BeApproximately(-perOrder[o].Average(), 1e-9);
        // Independent ensemble: mean over images of -log(mean over orders of p_o(x)).
        double ensemble = -Enumerable.Range(0, 5).Select(i =>
        {
            double m = perOrder.Max(p => p[i]);
            return m + Math.Log(perOrder.Average(p => Math.Exp(p[i] - m)));
        }).Average();
        report.Ensemble.Should().BeApproximately(ensemble, 1e-9);
        report.Images.Should().Be(5);
    }

    [Fact]
    public void CheckpointsRebuildTheModelAndAveragingTakesTheMean()
    {
        torch.manual_seed(5);
        var data = Digits(8, 6);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(2).ToArray();
        using var model = new LocallyMaskedPixelCnn(TinyBinary(), dtype: ScalarType.Float32);
        using var trainer = PixelCnnTraining.CreateTrainer(model, orders, data, null,
            new TrainerOptions { BatchSize = 4, LearningRate = 0.01, EmaDecay = 0.5, Encoding = InputEncoding.DynamicBinarization });
        string a = Path.Combine(dir, "a.ckpt"), b = Path.Combine(dir, "b.ckpt");
        trainer.Train(1);
        trainer.Save(a);
        var first = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        trainer.Train(3);
        trainer.Save(b);

        using (var file = PixelCnnCheckpoint.LoadModel(b))
        {
            var loaded = file.LocallyMaskedPixelCnn;
            file.Format.Should().Be(CheckpointFormat.Training);
            file.UsedAverage.Should().BeFalse();
            loaded.Config.Should().Be(model.Config);
            file.Metadata!.Orders().Should().Equal(orders);
            file.Orders.Should().Equal(orders);
            foreach (var (name, value) in model.state_dict()) loaded.state_dict()[name].allclose(value, 0, 0).Should().BeTrue(name);
        }
        using (var averaged = PixelCnnCheckpoint.LoadModel(b, new ModelLoadOptions { MovingAverageWeights = true }))
        {
            averaged.UsedAverage.Should().BeTrue();
            foreach (var (name, value) in trainer.Average!.Tensors)
                averaged.Model.Module.state_dict()[name].allclose(value, 0, 0).Should().BeTrue(name);
        }

        using var averageOfFiles = PixelCnnCheckpoint.LoadAverage(new[] { a, b });
        var mean = averageOfFiles.LocallyMaskedPixelCnn;
        foreach (var (name, value) in model.state_dict())
        {
            if (!value.is_floating_point()) continue;
            using var expected = (first[name] + value) / 2;
            mean.state_dict()[name].allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue(name);
        }
        foreach (var t in first.Values) t.Dispose();
    }

    [Fact]
    public void AFloat64CheckpointLoadsInFloat64UnlessAnotherTypeIsAsked()
    {
        // The model is built in the dtype its tensors were saved in (they load in place), whatever the default dtype.
        torch.manual_seed(6);
        var data = Digits(8, 6);
        var orders = GenerationOrders.SCurve(6, 6).Variants().Take(2).ToArray();
        using var model = new LocallyMaskedPixelCnn(TinyBinary(), dtype: ScalarType.Float64);
        using var trainer = PixelCnnTraining.CreateTrainer(model, orders, data, null,
            new TrainerOptions { BatchSize = 4, LearningRate = 0.01, Encoding = InputEncoding.DynamicBinarization });
        string path = Path.Combine(dir, "double.ckpt");
        trainer.Train(1);
        trainer.Save(path);
        torch.get_default_dtype().Should().Be(ScalarType.Float32);

        using (var file = PixelCnnCheckpoint.LoadModel(path))
        {
            file.Model.DType.Should().Be(ScalarType.Float64);
            foreach (var (name, value) in model.state_dict()) file.Model.Module.state_dict()[name].Equals(value).Should().BeTrue(name);
        }
        using var single = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { DType = ScalarType.Float32 });
        single.Model.DType.Should().Be(ScalarType.Float32);
        foreach (var (name, value) in model.state_dict())
            single.Model.Module.state_dict()[name].Equals(value.to(ScalarType.Float32)).Should().BeTrue(name);
    }
}
