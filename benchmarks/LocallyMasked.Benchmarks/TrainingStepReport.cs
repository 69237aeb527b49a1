using System.Diagnostics;
using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>training-step-report [--steps N] [--only TEXT[|TEXT...]] [--filters N] [--blocks N] [--alternate] [--grouping | --workers | --planning]</c>: seconds per training step of the
/// binarized-MNIST model (60 filters and 2 blocks per stage unless given, batch 16, the 8 S-curve variants; forward, loss, backward and Adam), split into phases, for this library's
/// layer and for the authors' layer (unfold, multiply by the mask, batched matmul, all through autograd) in the
/// same run, plus the same network with plain weight-masked <c>conv2d</c> under the raster order (a standard
/// PixelCNN++ step, the speed to match).
/// </summary>
internal static class TrainingStepReport
{
    /// <summary>One row's model, optimizer, order draws and step times.</summary>
    private sealed record StepRun(Variant Variant, LocallyMaskedPixelCnn Model, TorchSharp.Modules.Adam Optimizer, Random Random)
    {
        public List<(double Step, double Forward, double Backward, double Adam)> Times { get; } = new();
    }

    private sealed record Variant(string Name, Func<LocallyMaskedPixelCnn, Tensor, IReadOnlyList<GenerationOrder>, Tensor> LogLikelihood, bool PerImage);

    public static int Run(string[] args)
    {
        int stepsAt = Array.IndexOf(args, "--steps");
        int steps = stepsAt >= 0 ? int.Parse(args[stepsAt + 1]) : 10;
        int onlyAt = Array.IndexOf(args, "--only");
        string? only = onlyAt >= 0 ? args[onlyAt + 1] : null;
        torch.set_num_threads(Environment.ProcessorCount);
        if (args.Contains("--grouping")) return GroupingTable();
        if (args.Contains("--workers")) return WorkersTable(steps);
        int filtersAt = Array.IndexOf(args, "--filters"), blocksAt = Array.IndexOf(args, "--blocks");
        var config = PixelCnnConfig.BinarizedMnist with
        {
            Filters = filtersAt >= 0 ? int.Parse(args[filtersAt + 1]) : 60,
            ResidualBlocks = blocksAt >= 0 ? int.Parse(args[blocksAt + 1]) : 2,
        };
        if (args.Contains("--planning")) return PlanningTable(config, steps);
        var variants = GenerationOrders.SCurve(config.Height, config.Width).Variants();
        const int batch = 16;
        Console.WriteLine($"threads: {torch.get_num_threads()}, model: {config.Filters} filters, {config.ResidualBlocks} blocks, batch {batch}, " +
            $"{steps} measured steps after 2 warm-up steps (medians)");

        var all = new[]
        {
            new Variant("LMConv, one order per batch", (m, x, o) => m.LogLikelihood(x, m.MasksFor(o[0])), false),
            new Variant("LMConv, one order per image (the model's choice for this size)", (m, x, o) => m.LogLikelihood(x, m.MasksFor(o)), true),
            new Variant("LMConv, one order per image, per-sample masks", (m, x, o) => Traverse(m, x, new FeatureMapLayers(m.MasksFor(o))), true),
            new Variant("LMConv, one order per image, one pass per group of images with the same order", Grouped, true),
            new Variant("authors' layer (unfold, mask, matmul), one order per batch", (m, x, o) => Traverse(m, x, new UnfoldLayers(m.MasksFor(o[0]))), false),
            new Variant("weight-masked conv2d, raster (standard PixelCNN++)", (m, x, o) => Traverse(m, x, new Conv2dLayers(m.MasksFor(o[0]), m.Config.KernelSize)), false),
        };
        Console.WriteLine("| layer, orders | step (s) | forward + loss (s) | backward (s) | Adam (s) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        var chosen = all.Where(v => only is null || only.Split('|').Any(o => v.Name.Contains(o, StringComparison.OrdinalIgnoreCase))).ToArray();
        var runs = new List<StepRun>();
        // With --alternate every selected row is built first and the rows take their steps in turn, so that a shared
        // machine's changing load falls on all of them alike; otherwise each row runs its steps in one go.
        bool alternate = args.Contains("--alternate");
        foreach (var variant in chosen)
        {
            torch.manual_seed(0);
            var model = new LocallyMaskedPixelCnn(config);
            model.train();
            runs.Add(new StepRun(variant, model, optim.Adam(model.parameters().ToArray(), 2e-3, 0.95, 0.9995), new Random(1)));
            if (!alternate)
            {
                for (int step = 0; step < steps + 2; step++) Step(runs[^1], step);
                Report(runs[^1]);
            }
        }
        for (int step = 0; alternate && step < steps + 2; step++)
            foreach (var run in runs) Step(run, step);
        foreach (var run in runs)
        {
            if (alternate) Report(run);
            run.Optimizer.Dispose();
            run.Model.Dispose();
        }

        void Step(StepRun run, int step)
        {
            using var scope = NewDisposeScope();
            var x = torch.rand(batch, 1, config.Height, config.Width).GreaterThan(0.5).to_type(ScalarType.Float32).Times(2.0).Minus(1.0);
            var orders = run.Variant.PerImage
                ? Enumerable.Range(0, batch).Select(_ => variants[run.Random.Next(variants.Count)]).ToArray()
                : new[] { variants[run.Random.Next(variants.Count)] };
            var clock = Stopwatch.StartNew();
            var loss = -run.Variant.LogLikelihood(run.Model, x, orders).mean();
            _ = loss.ToDouble();
            var forward = clock.Elapsed.TotalSeconds;
            run.Optimizer.zero_grad();
            loss.backward();
            var backward = clock.Elapsed.TotalSeconds - forward;
            AdamUpdate.Apply(run.Optimizer);
            var total = clock.Elapsed.TotalSeconds;
            if (step >= 2) run.Times.Add((total, forward, backward, total - forward - backward));
        }

        static void Report(StepRun run)
        {
            var times = run.Times;
            Console.WriteLine($"| {run.Variant.Name} | {Median(times.Select(t => t.Step)):F3} | {Median(times.Select(t => t.Forward)):F3} | " +
                $"{Median(times.Select(t => t.Backward)):F3} | {Median(times.Select(t => t.Adam)):F3} |");
        }

        return 0;
    }

    /// <summary>
    /// <c>--workers</c>: seconds per <see cref="Trainer.TrainStep"/> (forward, loss, backward, Adam) on the embedded
    /// digits, batch 16, one S-curve variant per image, with the batch in one pass (1 worker with all threads) and in
    /// two shards on two threads (<see cref="TrainerOptions.Workers"/> = 2, one thread each), for the main job's model
    /// (16 filters, 1 block), the best-per-CPU-hour model (32, 1) and the training-step model above (60, 2). Medians.
    /// </summary>
    private static int WorkersTable(int steps)
    {
        var root = SampleQualityReport.RepositoryFolder("data/mnist-subset");
        var train = IdxReader.Read(Path.Combine(root, "train-images-idx3-ubyte.gz"), Path.Combine(root, "train-labels-idx1-ubyte.gz"));
        Console.WriteLine($"threads: {torch.get_num_threads()}, batch 16, {steps} measured steps after 3 warm-up steps (medians)");
        Console.WriteLine("| model | one pass, all threads (s) | 2 shards on 2 workers (s) | speed-up |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (filters, blocks) in new[] { (16, 1), (32, 1), (60, 2) })
        {
            var seconds = new double[2];
            foreach (var workers in new[] { 1, 2 })
            {
                torch.manual_seed(0);
                using var model = new LocallyMaskedPixelCnn(PixelCnnConfig.BinarizedMnist with { Filters = filters, ResidualBlocks = blocks });
                using var trainer = PixelCnnTraining.CreateTrainer(model, GenerationOrders.SCurve(28, 28).Variants(), train, null, new TrainerOptions
                {
                    BatchSize = 16, LearningRate = 2e-3, Encoding = InputEncoding.DynamicBinarization, Workers = workers,
                });
                var times = new List<double>();
                for (int step = 0; step < steps + 3; step++)
                {
                    var clock = Stopwatch.StartNew();
                    trainer.TrainStep();
                    if (step >= 3) times.Add(clock.Elapsed.TotalSeconds);
                }
                seconds[workers - 1] = Median(times);
            }
            Console.WriteLine($"| {filters} filters, {blocks} block{(blocks > 1 ? "s" : "")} | {seconds[0]:F3} | {seconds[1]:F3} | {seconds[0] / seconds[1]:F2}x |");
        }
        return 0;
    }

    /// <summary>
    /// <c>--grouping</c>: one 3x3 layer, forward and backward, for a batch of 16 whose images draw S-curve variants at
    /// random: one shared order (for reference), per-sample masks, and one call per group of images with the same order
    /// (what the model does from <see cref="PlanningPolicy.GroupingMinFilters"/> filters on). Medians of 6
    /// interleaved repetitions, in ms.
    /// </summary>
    private static int GroupingTable()
    {
        Console.WriteLine("| batch x in -> out channels, image | orders in the batch | one shared order (ms) | per-sample masks (ms) | grouped by order (ms) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var (n, c, o, size) in new[] { (16, 120, 60, 28), (16, 120, 120, 28), (16, 160, 160, 28), (16, 200, 200, 32), (16, 320, 320, 32) })
        {
            manual_seed(0);
            var layer = new LocallyMaskedConv2d(c, o, 3, 1);
            var x = randn(n, c, size, size, requires_grad: true);
            var g = randn(n, o, size, size);
            var variants = GenerationOrders.SCurve(size, size).Variants();
            var rnd = new Random(1);
            var which = Enumerable.Range(0, n).Select(_ => rnd.Next(8)).ToArray();
            var shared = Enumerable.Range(0, 8).Select(v => LocalMasks.Create(variants[v], 3, 1, MaskType.B)).ToArray();
            var perSample = stack(which.Select(v => shared[v]).ToArray());
            var groups = which.Select((v, i) => (v, i)).GroupBy(t => t.v).ToArray();
            var times = new List<double>[3];
            for (int i = 0; i < 3; i++) times[i] = new List<double>();
            for (int rep = 0; rep < 8; rep++)
            {
                for (int k = 0; k < 3; k++)
                {
                    var sw = Stopwatch.StartNew();
                    using (NewDisposeScope())
                    {
                        if (k == 0) layer.forward(x, shared[0]).backward(new[] { g });
                        else if (k == 1) layer.forward(x, perSample).backward(new[] { g });
                        else
                        {
                            var outs = new List<Tensor>(); var pos = new List<long>();
                            foreach (var gr in groups)
                            {
                                var idx = tensor(gr.Select(t => (long)t.i).ToArray());
                                outs.Add(layer.forward(x.index_select(0, idx), shared[gr.Key]));
                                pos.AddRange(gr.Select(t => (long)t.i));
                            }
                            var inv = new long[n]; for (int j = 0; j < n; j++) inv[pos[j]] = j;
                            cat(outs.ToArray(), 0).index_select(0, tensor(inv)).backward(new[] { g });
                        }
                        x.grad?.zero_(); foreach (var p in layer.parameters()) p.grad?.zero_();
                    }
                    if (rep >= 2) times[k].Add(sw.Elapsed.TotalMilliseconds);
                }
            }
            foreach (var t in times) t.Sort();
            Console.WriteLine($"| {n} x {c} -> {o}, {size}x{size} | {groups.Length} | {times[0][3]:F1} | {times[1][3]:F1} | {times[2][3]:F1} |");
        }
        return 0;
    }

    /// <summary>
    /// <c>--planning</c>: the planning a step with one order per image needs (batch 16, random S-curve variants, the
    /// model's four convolution shapes), in ms and managed MB per step: the per-image mask tensor analysed from its values
    /// (the path of a mask without a source), and the plan composed from the orders' cached analyses. The gathered index
    /// tensors are built in both. Medians over the steps after 2 warm-up steps.
    /// </summary>
    private static int PlanningTable(PixelCnnConfig config, int steps)
    {
        using var model = new LocallyMaskedPixelCnn(config);
        var variants = GenerationOrders.SCurve(config.Height, config.Width).Variants();
        var f = config.Filters;
        var shapes = new (MaskRole Role, int In, int Out, int Dilation)[]
        {
            (MaskRole.First, config.InputChannels, f, 1), (MaskRole.Undilated, 2 * f, f, 1), (MaskRole.Undilated, 2 * f, 2 * f, 1),
            (MaskRole.Dilated, f, f, config.MaxDilation),
        };
        var random = new Random(1);
        var times = new List<double>[] { new(), new() };
        var bytes = new List<double>[] { new(), new() };
        for (int step = 0; step < steps + 2; step++)
        {
            var orders = Enumerable.Range(0, 16).Select(_ => variants[random.Next(variants.Count)]).ToArray();
            for (int way = 0; way < 2; way++)
            {
                using var scope = NewDisposeScope();
                var masks = model.MasksFor(orders);
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                foreach (var (role, inChannels, outChannels, dilation) in shapes)
                {
                    var mask = role switch { MaskRole.First => masks.First, MaskRole.Dilated => masks.Dilated, _ => masks.Undilated };
                    var x = empty(16, inChannels, config.Height, config.Width);
                    var plan = way == 0
                        ? ConvolutionPlanner.PlanFor(mask, mask, x, config.KernelSize, dilation, model.Planning, outChannels)
                        : OrderPlans.PlanFor(masks.SourceOf(role)!, x, outChannels, model.Planning)!;
                    plan.Gathered?.IndicesFor(16, CPU);
                }
                if (step < 2) continue;
                times[way].Add(clock.Elapsed.TotalMilliseconds);
                bytes[way].Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / 1048576.0);
            }
        }
        Console.WriteLine($"planning of a step with one order per image, {f} filters, batch 16, {steps} steps (medians)");
        Console.WriteLine("| masks analysed | ms per step | managed MB per step |");
        Console.WriteLine("| --- | ---: | ---: |");
        Console.WriteLine($"| from the per-image mask tensor (before) | {Median(times[0]):F1} | {Median(bytes[0]):F1} |");
        Console.WriteLine($"| from the orders' cached analyses | {Median(times[1]):F1} | {Median(bytes[1]):F1} |");
        return 0;
    }

    private static Tensor Grouped(LocallyMaskedPixelCnn model, Tensor x, IReadOnlyList<GenerationOrder> orders)
    {
        var withOnes = cat(new[] { x, ones_like(x) }, 1);
        var parameters = model.RunGroupedByOrder(withOnes, model.MasksFor(orders).Parts!);
        return model.Likelihood.LogProbability(x, parameters).sum(new long[] { 1, 2 });
    }

    private static Tensor Traverse(LocallyMaskedPixelCnn model, Tensor x, ILayerEvaluator layers)
    {
        var withOnes = cat(new[] { x, ones_like(x) }, 1);
        var parameters = model.Evaluate(withOnes, layers);
        return model.Likelihood.LogProbability(x, parameters).sum(new long[] { 1, 2 });
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The model's own layers, with the convolutions computed another way.</summary>
    private abstract class OtherConvolutionLayers(MaskSet masks) : ILayerEvaluator
    {
        private readonly FeatureMapLayers _module = new(masks);

        protected MaskSet Masks { get; } = masks;

        public abstract Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role);

        public Tensor ConcatElu(Tensor input) => _module.ConcatElu(input);

        public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => _module.Normalize(input, normalization, role);

        public Tensor Dropout(GatedResidualBlock block, Tensor input) => _module.Dropout(block, input);

        public Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip) => _module.Skip(t, layer, skip);

        public Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role) => _module.Gate(u, gate, normalization, role);

        public Tensor Output(NetworkInNetwork layer, Tensor u) => _module.Output(layer, u);
    }

    /// <summary>The authors' layer: unfold the padded input, multiply the columns by the mask, one batched matmul.</summary>
    private sealed class UnfoldLayers(MaskSet masks) : OtherConvolutionLayers(masks)
    {
        public override Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
        {
            var mask = role switch { MaskRole.First => Masks.First, MaskRole.Dilated => Masks.Dilated, _ => Masks.Undilated };
            var (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3]);
            int k = conv.KernelSize, d = conv.Dilation, pad = d * (k - 1) / 2;
            var columns = nn.functional.unfold(input, k, d, pad).view(n, c, k * k, h * w) * mask.view(1, 1, k * k, h * w);
            var weight = conv.EffectiveWeight().view(conv.OutChannels, -1);
            var output = weight.matmul(columns.view(n, c * k * k, h * w));
            var bias = conv.bias;
            if (bias is not null) output = output.Plus(bias.view(1, -1, 1));
            return output.view(n, conv.OutChannels, h, w);
        }
    }

    /// <summary>A standard PixelCNN++ layer: conv2d with the raster kernel mask folded into the weight.</summary>
    private sealed class Conv2dLayers(MaskSet masks, int kernelSize) : OtherConvolutionLayers(masks)
    {
        private readonly Tensor _typeA = KernelMask(kernelSize, includeCentre: false);
        private readonly Tensor _typeB = KernelMask(kernelSize, includeCentre: true);

        public override Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
        {
            int k = conv.KernelSize, d = conv.Dilation;
            var weight = conv.EffectiveWeight() * (role == MaskRole.First ? _typeA : _typeB);
            return nn.functional.conv2d(input, weight, conv.bias, padding: new long[] { d * (k - 1) / 2, d * (k - 1) / 2 },
                dilation: new long[] { d, d });
        }

        private static Tensor KernelMask(int k, bool includeCentre)
        {
            var values = new float[k * k];
            for (int t = 0; t < k * k; t++) values[t] = t < k * k / 2 || (includeCentre && t == k * k / 2) ? 1f : 0f;
            return tensor(values).view(1, 1, k, k).DetachFromDisposeScope();
        }
    }
}
