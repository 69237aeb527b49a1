using LocallyMasked.Training.Data;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-train-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    internal static ImageDataset Images(int count, int side, bool grey)
    {
        var random = new SeededRandom(42);
        var pixels = new byte[count * side * side];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = grey ? (byte)random.NextInt(256) : (byte)(random.NextInt(2) * 255);
        return new ImageDataset(pixels, new byte[count], 1, side, side, "generated");
    }

    internal static IReadOnlyList<GenerationOrder> Orders(int side) => GenerationOrders.SCurve(side, side).Variants().Take(4).ToArray();

    internal static (TinyAutoregressiveModel Model, Trainer Trainer) Create(ImageDataset data, TrainerOptions options, long seed = 7)
    {
        var model = new TinyAutoregressiveModel(data.Height * data.Width, seed);
        var trainer = new Trainer(model, model.NegativeLogLikelihood, Orders(data.Height), data, data, options, "{\"pixels\":16}");
        return (model, trainer);
    }

    [Fact]
    public void AFewStepsOverfitATinyBatch()
    {
        var data = Images(8, 4, grey: false);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 8, LearningRate = 0.05, Encoding = InputEncoding.DynamicBinarization });
        using (model)
        using (trainer)
        {
            double before = trainer.EvaluateTest();
            var losses = trainer.Train(60);
            double after = trainer.EvaluateTest();
            losses.Should().HaveCount(60);
            losses.TakeLast(5).Average().Should().BeLessThan(losses.Take(5).Average() * 0.7);
            after.Should().BeLessThan(before * 0.7);
        }
    }

    [Fact]
    public void ResumingGivesTheSameLossesAsAnUninterruptedRun()
    {
        var data = Images(24, 4, grey: true);
        var options = new TrainerOptions
        {
            BatchSize = 8, LearningRate = 0.02, LearningRateDecay = 0.99, EmaDecay = 0.9, MaxGradientNorm = 5,
            Encoding = InputEncoding.DynamicBinarization, OrderSampling = OrderSampling.PerImage, Seed = 3,
        };
        List<double> uninterrupted;
        var (m1, t1) = Create(data, options);
        using (m1)
        using (t1) uninterrupted = t1.Train(10).ToList();

        string path = Path.Combine(dir, "resume.ckpt");
        var (m2, t2) = Create(data, options);
        List<double> first;
        using (m2)
        using (t2)
        {
            first = t2.Train(4).ToList();
            t2.Save(path);
        }
        // A fresh model with different initial weights: everything must come from the checkpoint.
        var (m3, t3) = Create(data, options, seed: 99);
        using (m3)
        using (t3)
        {
            t3.Resume(path);
            t3.Step.Should().Be(4);
            var rest = t3.Train(10);
            first.Concat(rest).Should().Equal(uninterrupted);
        }
    }

    [Fact]
    public void TrainingStepsLeaveNoLiveTensorsBehind()
    {
        var data = Images(16, 4, grey: true);
        var (model, trainer) = Create(data, new TrainerOptions { BatchSize = 4, EmaDecay = 0.5, MaxGradientNorm = 1, Encoding = InputEncoding.DynamicBinarization });
        using (model)
        using (trainer)
        {
            trainer.Train(1);
            long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            trainer.Train(5);
            trainer.EvaluateTest(8, 4);
            DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(live);
        }
    }

    [Fact]
    public void WeightAverageFollowsTheExponentialRecurrence()
    {
        using var model = new TinyAutoregressiveModel(4, 3);
        using var average = new WeightAverage(model, 0.75);
        var w0 = model.parameters().First().detach().clone();
        using (no_grad()) model.parameters().First().add_(1.0);
        average.Update();
        var expected = w0 * 0.75 + (w0 + 1.0) * 0.25;
        average.Tensors.Values.OrderBy(t => t.numel()).Last().allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
        using (average.Apply())
            model.parameters().First().allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
        model.parameters().First().allclose(w0 + 1.0, rtol: 0, atol: 0).Should().BeTrue();
    }

}
