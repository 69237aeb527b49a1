using System.Diagnostics;
using System.Text.Json;
using LocallyMasked.Checkpoints;
using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>precision-report --layer [--reps N] [--measured] | --gathered [--reps N] | --training [--steps N] | --fixtures | --sampler --checkpoint FILE [--count N]</c>:
/// float32 against bf16-mixed (<see cref="ComputePrecision"/>) in one process. <c>--layer</c>: one 3x3 layer, forward
/// plus backward, at (16, 160, 32x32) and (32, 64, 28x28), raster / S-curve / Hilbert / random masks, against
/// weight-masked <c>conv2d</c> in the same precision, the cases interleaved rep by rep (medians, ms); with
/// <c>--measured</c> the layers plan with the rates measured in this process for each dtype
/// (<see cref="PlanningPolicy.TimingDependent"/>), which it prints. <c>--gathered</c>: <see cref="GatheredPathProfile"/>. <c>--training</c>:
/// seconds per <see cref="Trainer.TrainStep"/> of both precisions, their steps interleaved, for the program's default
/// model, 60 filters / 2 blocks (embedded digits) and an RGB 32x32 model of 80 filters / 2 blocks (random bytes).
/// <c>--fixtures</c>: how far bf16 moves the NLL of the authors' fixture checkpoints (tests/.../Fidelity), per order and
/// ensemble. <c>--sampler</c>: the cached and the naive sampler in both precisions on a checkpoint, same seeds.
/// </summary>
internal static class PrecisionReport
{
    private static readonly ComputePrecision Mixed = ComputePrecision.BFloat16Mixed;

    public static int Run(string[] args)
    {
        int Value(string name, int fallback) => Array.IndexOf(args, name) is var at and >= 0 ? int.Parse(args[at + 1]) : fallback;
        torch.set_num_threads(Environment.ProcessorCount);
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, threads {torch.get_num_threads()}, bf16 units: " +
            $"{BFloat16Support.IsNative(CPU, out var evidence)} ({evidence}), load average {File.ReadAllText("/proc/loadavg").Trim()}");
        if (args.Contains("--layer")) return LayerTable(Value("--reps", 6), args.Contains("--measured") ? PlanningPolicy.TimingDependent : PlanningPolicy.Deterministic);
        if (args.Contains("--gathered")) return GatheredPathProfile.Run(Value("--reps", 6));
        if (args.Contains("--training")) return StepTable(Value("--steps", 8));
        if (args.Contains("--fixtures")) return FixtureTable();
        if (args.Contains("--sampler")) return SamplerTable(args[Array.IndexOf(args, "--checkpoint") + 1], Value("--count", 8));
        Console.Error.WriteLine("precision-report: give --layer, --gathered, --training, --fixtures or --sampler --checkpoint FILE");
        return 2;
    }

    private static int LayerTable(int reps, PlanningPolicy planning)
    {
        if (planning.DependsOnTimings)
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                Console.WriteLine($"// {CostCalibration.MeasuredOnce(dtype)}");
        var cases = new List<(string Name, Action Step)>();
        var kernelMask = tensor(new float[] { 1, 1, 1, 1, 1, 0, 0, 0, 0 }).view(3, 3);
        foreach (var (n, c, size) in new[] { (16, 160, 32), (32, 64, 28) })
        {
            manual_seed(0);
            var layer = new LocallyMaskedConv2d(c, c, 3, 1, planning: planning);
            var x = randn(n, c, size, size, requires_grad: true);
            var g = randn(n, c, size, size);
            var weight = layer.get_parameter("weight")!;
            var bias = layer.get_parameter("bias")!;
            foreach (var precision in ComputePrecision.All)
            {
                var shape = $"{n} x {c} x {size}x{size}, {precision}";
                cases.Add(($"{shape}, conv2d", () =>
                {
                    var masked = precision.IsMixed ? (weight * kernelMask).to(ScalarType.BFloat16) : weight * kernelMask;
                    var input = precision.IsMixed ? x.to(ScalarType.BFloat16) : x;
                    var y = nn.functional.conv2d(input, masked, padding: new long[] { 1, 1 }).to(ScalarType.Float32).Plus(bias.view(1, -1, 1, 1));
                    y.backward(new[] { g });
                }));
                foreach (var kind in new[] { "raster", "s-curve", "hilbert", "random" })
                {
                    var mask = Mask(kind, size);
                    var plan = ConvolutionPlanner.PlanFor(mask, mask, precision.IsMixed ? x.to(ScalarType.BFloat16) : x, 3, 1, layer.Planning);
                    cases.Add(($"{shape}, {kind} ({plan})", () => layer.forward(x, mask, precision).backward(new[] { g })));
                }
            }
        }

        var times = cases.Select(_ => new List<double>()).ToArray();
        for (int rep = 0; rep < reps + 1; rep++)
            for (int i = 0; i < cases.Count; i++)
            {
                var clock = Stopwatch.StartNew();
                using (NewDisposeScope()) cases[i].Step();
                if (rep > 0) times[i].Add(clock.Elapsed.TotalMilliseconds);
            }

        Console.WriteLine($"medians of {reps} interleaved reps after one warm-up rep (ms); ratios against conv2d in the same precision and bf16 against float32");
        Console.WriteLine("| case (plan) | ms | / conv2d same precision | float32 / bf16 |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        var medians = times.Select(Median).ToArray();
        for (int i = 0; i < cases.Count; i++)
        {
            // Per shape: 5 float32 cases (conv2d first), then 5 bf16 cases.
            int group = i / 5 * 5, partner = i % 10 < 5 ? i + 5 : i - 5;
            var speedUp = i % 10 < 5 ? medians[i] / medians[partner] : medians[partner] / medians[i];
            Console.WriteLine($"| {cases[i].Name} | {medians[i]:F1} | {medians[i] / medians[group]:F2} | {speedUp:F2}x |");
        }
        return 0;
    }

    private static Tensor Mask(string kind, int size)
    {
        if (kind == "random")
        {
            using var generator = new Generator(1);
            var random = rand(new long[] { 9, size * size }, generator: generator).LessThan(0.5).to(ScalarType.Float32);
            random[4].FillInPlace(1.0);
            return random;
        }
        var order = kind switch
        {
            "raster" => GenerationOrders.Raster(size, size),
            "hilbert" => GenerationOrders.GeneralizedHilbert(size, size),
            _ => GenerationOrders.SCurve(size, size),
        };
        return LocalMasks.Create(order, 3, 1, MaskType.B);
    }

    private static int StepTable(int steps)
    {
        var root = SampleQualityReport.RepositoryFolder("data/mnist-subset");
        var digits = IdxReader.Read(Path.Combine(root, "train-images-idx3-ubyte.gz"), Path.Combine(root, "train-labels-idx1-ubyte.gz"));
        var bytes = new byte[256 * 3 * 32 * 32];
        new Random(1).NextBytes(bytes);
        var rgb = new ImageDataset(bytes, new byte[256], 3, 32, 32, "random bytes");
        Console.WriteLine($"batch 16, one worker, {steps} measured steps of each precision after 2 warm-up steps, interleaved (medians, s)");
        Console.WriteLine("| model | float32 (s) | bf16-mixed (s) | speed-up |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        var models = new (string Name, PixelCnnConfig Config, ImageDataset Data)[]
        {
            ("default: binary 28x28, 16 filters, 1 block", PixelCnnConfig.BinarizedMnist with { Filters = 16, ResidualBlocks = 1 }, digits),
            ("binary 28x28, 60 filters, 2 blocks", PixelCnnConfig.BinarizedMnist with { Filters = 60, ResidualBlocks = 2 }, digits),
            ("RGB 32x32, 80 filters, 2 blocks, 10 mixtures", new PixelCnnConfig { Filters = 80, ResidualBlocks = 2 }, rgb),
        };
        foreach (var (name, config, data) in models)
        {
            var runs = ComputePrecision.All.Select(precision =>
            {
                torch.manual_seed(0);
                var model = new LocallyMaskedPixelCnn(config);
                var orders = GenerationOrders.SCurve(config.Height, config.Width).Variants();
                var trainer = PixelCnnTraining.CreateTrainer(model, orders, data, null, new TrainerOptions
                {
                    BatchSize = 16, LearningRate = 2e-3, Workers = 1, Precision = precision,
                    Encoding = config.Likelihood == LocallyMasked.Likelihoods.LikelihoodKind.Binary ? InputEncoding.DynamicBinarization : InputEncoding.Signed,
                });
                return (Model: model, Trainer: trainer, Times: new List<double>());
            }).ToArray();
            for (int step = 0; step < steps + 2; step++)
                foreach (var run in runs)
                {
                    var clock = Stopwatch.StartNew();
                    run.Trainer.TrainStep();
                    if (step >= 2) run.Times.Add(clock.Elapsed.TotalSeconds);
                }
            var (full, mixed) = (Median(runs[0].Times), Median(runs[1].Times));
            Console.WriteLine($"| {name} | {full:F3} | {mixed:F3} | {full / mixed:F2}x |");
            foreach (var run in runs)
            {
                run.Trainer.Dispose();
                run.Model.Dispose();
            }
        }
        return 0;
    }

    private static int FixtureTable()
    {
        var folder = SampleQualityReport.RepositoryFolder("tests/LocallyMasked.Tests/Fidelity/Fixtures");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "models.json")));
        Console.WriteLine("NLL (nats) of the fixture images, float32 model, float32 against bf16-mixed: largest relative difference over the images,");
        Console.WriteLine("per order (the largest over the orders, and the mean of the per-order largest) and of the ensemble; float32 against the authors' float64 figures for scale");
        Console.WriteLine("| checkpoint | orders x images | per order, largest | per order, mean of largest | ensemble | float32 vs theirs |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        var all = new List<(double Order, double Ensemble)>();
        foreach (var entry in json.RootElement.GetProperty("files").EnumerateArray())
        {
            if (entry.GetProperty("kind").GetString() != "checkpoint") continue;
            var file = entry.GetProperty("file").GetString()!;
            using var scope = NewDisposeScope();
            using var loaded = PixelCnnCheckpoint.LoadModel(Path.Combine(folder, file), new ModelLoadOptions { DType = ScalarType.Float32 });
            if (loaded.Orders is not { } orders) continue;
            var images = entry.GetProperty("images");
            var shape = images.GetProperty("shape").EnumerateArray().Select(v => v.GetInt64()).ToArray();
            var x = tensor(Flatten(images.GetProperty("values")).ToArray(), shape, ScalarType.Float32);
            var theirs = entry.GetProperty("nll").GetProperty("model").GetProperty("per_order").EnumerateArray()
                .SelectMany(row => row.EnumerateArray().Select(v => v.GetDouble())).ToArray();
            using var noGrad = no_grad();
            var model = loaded.Model;
            var view = model.WithPrecision(Mixed);
            var full = (-model.PerOrderLogLikelihoods(x, orders)).to(ScalarType.Float64);
            var mixed = (-view.PerOrderLogLikelihoods(x, orders)).to(ScalarType.Float64);
            var perOrder = ((mixed - full).abs() / full.abs()).amax(new long[] { 0 });
            var ensembleFull = (-model.EnsembleLogLikelihood(x, orders)).to(ScalarType.Float64);
            var ensemble = ((-view.EnsembleLogLikelihood(x, orders)).to(ScalarType.Float64) - ensembleFull).abs().div(ensembleFull.abs()).max().item<double>();
            var reference = tensor(theirs, full.shape, ScalarType.Float64);
            var versusTheirs = ((full - reference).abs() / reference.abs()).max().item<double>();
            var (largest, mean) = (perOrder.max().item<double>(), perOrder.mean().item<double>());
            all.Add((largest, ensemble));
            Console.WriteLine($"| {Path.GetFileName(file)} | {orders.Count} x {shape[0]} | {largest:P3} | {mean:P3} | {ensemble:P3} | {versusTheirs:E1} |");
        }
        Console.WriteLine($"over the {all.Count} checkpoints: per order at most {all.Max(a => a.Order):P3}, ensemble at most {all.Max(a => a.Ensemble):P3}");
        return 0;
    }

    private static IEnumerable<float> Flatten(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : new[] { (float)e.GetDouble() };

    private static int SamplerTable(string path, int count)
    {
        using var loaded = PixelCnnCheckpoint.LoadModel(path, new ModelLoadOptions { DType = ScalarType.Float32 });
        var model = loaded.LocallyMaskedPixelCnn;
        var orders = loaded.Orders!;
        Console.WriteLine($"{path}: {count} images per order and sampler, seed 1; pixels (values) that differ between two samplers' images");
        Console.WriteLine("| order | cached vs naive, float32 | cached vs naive, bf16 | bf16 vs float32, cached | cached bf16 step vs bf16 full pass (largest, relative) | bf16 full pass vs float32 (largest, relative) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (order, index) in orders.Select((o, i) => (o, i)).Take(2))
        {
            using var scope = NewDisposeScope();
            var steps = new List<Tensor>();
            var options = new SamplingOptions { Seed = 1 };
            var naive32 = new NaiveSampler(model).Sample(order, count, options);
            var cached32 = new CachedSampler(model).Sample(order, count, options);
            var naive16 = new NaiveSampler(model.WithPrecision(Mixed)).Sample(order, count, options);
            var cached16 = new CachedSampler(model, Mixed).Sample(order, count,
                options with { StepObserver = (_, p) => steps.Add(p.detach().clone().DetachFromDisposeScope()) });
            string Differ(Tensor a, Tensor b) => $"{a.ne(b).sum().item<long>()} of {a.numel()}";
            using var noGrad = no_grad();
            var mixed = model.WithPrecision(Mixed).DistributionParameters(cached16, new[] { order });
            var exact = model.DistributionParameters(cached16, new[] { order });
            var atSteps = mixed.view(count, mixed.shape[1], -1).index_select(2, tensor(order.Sequence.Select(p => (long)p).ToArray()));
            var stepGap = (stack(steps, 2) - atSteps).abs().max().item<float>() / atSteps.abs().max().item<float>();
            var passGap = ((mixed - exact).abs().max() / exact.abs().max()).item<float>();
            Console.WriteLine($"| {index} | {Differ(cached32, naive32)} | {Differ(cached16, naive16)} | {Differ(cached16, cached32)} | {stepGap:E2} | {passGap:E2} |");
        }
        return 0;
    }

    /// <summary>The median of the values.</summary>
    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
