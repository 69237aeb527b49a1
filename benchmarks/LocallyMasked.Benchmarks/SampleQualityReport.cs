using System.Diagnostics;
using LocallyMasked.Checkpoints;
using LocallyMasked.Models;
using LocallyMasked.Sampling;
using LocallyMasked.Training.Data;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>sample-quality [--count 64] [--seed 1] [--epochs 3] [--ema-weights] [--temperature T ...] [--order K ... | --all-orders] CHECKPOINT...</c>: how many generated digits
/// look like digits. A small CNN (<see cref="DigitClassifier"/>) is trained on the embedded training digits, binarized
/// like the samples; its test accuracy is printed. Each checkpoint then draws <c>--count</c> digits in its first order, or
/// in each <c>--order</c> (an index into the checkpoint's orders) or all of them (cached sampler, the given seed, at each
/// <c>--temperature</c>, 1 by default) and its score is the fraction of them that
/// the classifier labels with a probability of at least 0.9. The same score of real binarized test digits is the reference.
/// </summary>
internal static class SampleQualityReport
{
    /// <summary>The classifier's probability from which a sample counts as a recognisable digit.</summary>
    internal const double Confidence = 0.9;

    public static int Run(string[] args)
    {
        int count = 64, epochs = 3;
        long seed = 1;
        bool ema = false, allOrders = false;
        var orders = new List<int>();
        var temperatures = new List<double>();
        var checkpoints = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--count": count = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--seed": seed = long.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--epochs": epochs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--ema-weights": ema = true; break;
                case "--order": orders.Add(int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)); break;
                case "--all-orders": allOrders = true; break;
                case "--temperature": temperatures.Add(double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture)); break;
                default: checkpoints.Add(args[i]); break;
            }
        }

        // Checked before the classifier's 20 s of training: a value given to an option twice (--order 0 3) lands here.
        var missing = checkpoints.FirstOrDefault(path => !File.Exists(path));
        if (checkpoints.Count == 0 || missing is not null)
        {
            Console.Error.WriteLine(missing is null
                ? "sample-quality: give at least one checkpoint."
                : $"sample-quality: checkpoint '{missing}' not found (each option takes one value: --order 0 --order 3).");
            return 1;
        }

        var root = RepositoryFolder("data/mnist-subset");
        var train = IdxReader.Read(Path.Combine(root, "train-images-idx3-ubyte.gz"), Path.Combine(root, "train-labels-idx1-ubyte.gz"));
        var test = IdxReader.Read(Path.Combine(root, "test-images-idx3-ubyte.gz"), Path.Combine(root, "test-labels-idx1-ubyte.gz"));
        var clock = Stopwatch.StartNew();
        using var classifier = DigitClassifier.Train(train, epochs, seed);
        using var generator = new Generator((ulong)seed + 1);
        int correct = 0;
        for (int start = 0; start < test.Count; start += 500)
        {
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(500, test.Count - start)).ToArray();
            var (labels, _) = classifier.Classify(DigitClassifier.Binarize(test, indices, generator));
            correct += indices.Where((image, i) => labels[i] == test.Label(image)).Count();
        }
        Console.WriteLine($"classifier: {epochs} epochs on {train.Count} binarized training digits in {clock.Elapsed.TotalSeconds:F0} s; " +
                          $"test accuracy {100.0 * correct / test.Count:F1} % on {test.Count} binarized test digits");

        var real = Enumerable.Range(0, count).Select(i => i * (test.Count / count)).ToArray();
        using (var scope = NewDisposeScope())
            Console.WriteLine($"| real binarized test digits | {count} | {Score(classifier, DigitClassifier.Binarize(test, real, generator)):F3} |");

        if (temperatures.Count == 0) temperatures.Add(1.0);
        Console.WriteLine("| checkpoint | order | temperature | samples | score (confidence >= 0.9) | sampling s |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var path in checkpoints)
        {
            using var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { MovingAverageWeights = ema });
            if (loaded.Orders is null) throw new ArgumentException($"{path}: records no orders; use a training checkpoint.");
            var chosen = allOrders ? Enumerable.Range(0, loaded.Orders.Count).ToList() : orders.Count > 0 ? orders : new List<int> { 0 };
            if (chosen.Any(k => k < 0 || k >= loaded.Orders.Count))
                throw new ArgumentException($"{path}: --order must be an index from 0 to {loaded.Orders.Count - 1} (the checkpoint records {loaded.Orders.Count} orders).");
            foreach (var order in chosen)
            foreach (var temperature in temperatures)
            {
                using var scope = NewDisposeScope();
                var sampling = Stopwatch.StartNew();
                // The cached sampler for the LMConv model; the naive one (a full pass per pixel) for PixelCNN++.
                ImageSampler sampler = loaded.Model is LocallyMaskedPixelCnn lmconv ? new CachedSampler(lmconv) : new NaiveSampler(loaded.Model);
                var samples = sampler.Sample(loaded.Orders[order], count, new SamplingOptions { Seed = seed, Temperature = temperature });
                Console.WriteLine($"| {path} | {order} | {temperature} | {count} | {Score(classifier, samples):F3} | {sampling.Elapsed.TotalSeconds:F1} |");
            }
        }
        return 0;
    }

    /// <summary>The fraction of the digits the classifier labels with a probability of at least <see cref="Confidence"/>.</summary>
    internal static double Score(DigitClassifier classifier, Tensor digits)
    {
        var (_, confidence) = classifier.Classify(digits);
        return confidence.Count(c => c >= Confidence) / (double)confidence.Length;
    }

    internal static string RepositoryFolder(string relative)
    {
        // The program's folder first (dotnet run), then the working directory (a copied build run from the repository).
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, relative);
                if (Directory.Exists(candidate)) return candidate;
            }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory} or the working directory; run from the repository.");
    }
}
