using System.Globalization;
using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using static TorchSharp.torch;

namespace LocallyMasked.MpiProbe;

/// <summary>
/// A small data-parallel training run, built the same way by every rank of the probe and by the tests (which link this
/// file) in one process: a 6x6 binarized locally masked PixelCNN with dropout, a moving average, clipping, one order per
/// image and periodic test evaluations, on synthetic images; batches of 5, so that shards are uneven.
/// </summary>
internal static class ProbeTraining
{
    /// <summary>Steps the "train" scenario runs.</summary>
    public const int Steps = 6;

    /// <summary>The images and their count.</summary>
    public const int Images = 24;

    private static readonly GenerationOrder[] Orders = GenerationOrders.SCurve(6, 6).Variants().Take(4).ToArray();

    /// <summary>The trainer of the run and its model, for a group and a number of workers per process.</summary>
    /// <param name="group">The processes (null: one).</param>
    /// <param name="workers">Workers per process.</param>
    /// <param name="modelSeed">Seed of the weights this process starts from (process 0's reach every process).</param>
    /// <param name="learningRate">Adam's learning rate.</param>
    /// <param name="dtype">The model's data type.</param>
    public static (LocallyMaskedPixelCnn Model, Trainer Trainer) Create(IDataParallelGroup? group, int workers, long modelSeed = 21,
        double learningRate = 0.01, ScalarType dtype = ScalarType.Float32)
    {
        var model = CreateModel(modelSeed, dtype);
        return (model, CreateTrainer(model, group, workers, learningRate));
    }

    /// <summary>
    /// The model, its weights drawn from torch's CPU generator seeded with <paramref name="seed"/> (threads of one process
    /// that make models at once must take turns: the generator is the process's).
    /// </summary>
    public static LocallyMaskedPixelCnn CreateModel(long seed, ScalarType dtype = ScalarType.Float32)
    {
        TorchSharp.torch.manual_seed(seed);
        var config = PixelCnnConfig.BinarizedMnist with { Height = 6, Width = 6, Filters = 6, ResidualBlocks = 1, Dropout = 0.3 };
        return new LocallyMaskedPixelCnn(config, dtype: dtype);
    }

    /// <summary>The model's trainer (with several processes, a collective).</summary>
    public static Trainer CreateTrainer(LocallyMaskedPixelCnn model, IDataParallelGroup? group, int workers, double learningRate = 0.01)
    {
        var data = Data();
        return PixelCnnTraining.CreateTrainer(model, Orders, data, data, new TrainerOptions
        {
            BatchSize = 5, LearningRate = learningRate, Encoding = InputEncoding.DynamicBinarization, Workers = workers, Seed = 3,
            EmaDecay = 0.9, MaxGradientNorm = 5, EvaluateEvery = 2, EvaluationImages = 7,
        }, group);
    }

    /// <summary>Synthetic 6x6 images: bright blobs at random places, the same every time.</summary>
    public static ImageDataset Data()
    {
        var random = new Random(5);
        var pixels = new byte[Images * 36];
        for (int i = 0; i < Images; i++)
        {
            int row = random.Next(6), column = random.Next(6);
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++)
                {
                    int distance = Math.Abs(r - row) + Math.Abs(c - column);
                    pixels[i * 36 + r * 6 + c] = (byte)Math.Clamp(255 - 70 * distance + random.Next(40), 0, 255);
                }
        }

        return new ImageDataset(pixels, new byte[Images], 1, 6, 6, "probe blobs");
    }

    /// <summary>A double as the hexadecimal of its bits, for comparisons bit for bit.</summary>
    public static string Bits(double value) => BitConverter.DoubleToInt64Bits(value).ToString("X16", CultureInfo.InvariantCulture);

    /// <summary>The lines a run prints (and the tests compute): each step's loss, each periodic test loss, the final state digest.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="steps">Train to this step.</param>
    /// <param name="cancellation">Stops the run.</param>
    /// <param name="onStep">Called after each step with its number.</param>
    public static List<string> Run(Trainer trainer, long steps, CancellationToken cancellation = default, Action<long>? onStep = null)
    {
        var lines = new List<string>();
        var progress = new Inline(p =>
        {
            lines.Add($"loss {p.Step} {Bits(p.Loss)}");
            if (p.TestLoss is { } test) lines.Add($"test {p.Step} {Bits(test)}");
            onStep?.Invoke(p.Step);
        });
        trainer.Train(steps, progress, cancellation);
        lines.Add($"stopped {trainer.Stopped} at {trainer.Step}");
        lines.Add($"digest {trainer.StateDigest()}");
        return lines;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class Inline(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
