// Seeded work of every kind, printed as one line per result: "<scenario>/<result> <digest>". The tests run this program in
// child processes and compare the lines of two runs bit for bit: under two different MALLOC_PERTURB_ bytes (a read of
// memory that was never written then differs), and with and without --gc-stress (a thread that forces collections and
// finalizers in a loop: a Scalar or tensor that libtorch reads after it was freed then shows as an error or a difference).
//
// Usage: probe [--gc-stress] [--repeat N] [--threads N] [--size N] scenario...   (scenarios: see Scenarios below, "bf16" the
// bf16-mixed precision of everything; "all" runs every one)
using System.Security.Cryptography;
using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Masks;
using LocallyMasked.Models;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using LocallyMasked.Sampling;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

var scenarios = new Dictionary<string, Func<IEnumerable<(string, Tensor)>>>
{
    ["convolution"] = Scenarios.ConvolutionPaths,
    ["kernels"] = Scenarios.Kernels,
    ["lmconv-heads"] = () => Scenarios.ModelHeads(lmconv: true),
    ["baseline-heads"] = () => Scenarios.ModelHeads(lmconv: false),
    ["lmconv-train"] = () => Scenarios.Training(lmconv: true, workers: 1),
    ["lmconv-train-workers"] = () => Scenarios.Training(lmconv: true, workers: 2),
    ["baseline-train"] = () => Scenarios.Training(lmconv: false, workers: 1),
    ["baseline-train-workers"] = () => Scenarios.Training(lmconv: false, workers: 2),
    ["evaluation"] = Scenarios.Evaluation,
    ["sampling"] = () => Scenarios.Sampling(ComputePrecision.Float32),
    ["bf16"] = Scenarios.MixedPrecision,
};

bool stress = false;
int repeat = 1, threads = 1;
var chosen = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--gc-stress") stress = true;
    else if (args[i] == "--repeat") repeat = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else if (args[i] == "--threads") threads = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else if (args[i] == "--size") Scenarios.Size = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else if (args[i] == "all") chosen.AddRange(scenarios.Keys);
    else if (scenarios.ContainsKey(args[i])) chosen.Add(args[i]);
    else
    {
        Console.Error.WriteLine($"unknown scenario '{args[i]}'; known: all, {string.Join(", ", scenarios.Keys)}");
        return 2;
    }
}

LocallyMasked.Training.Runtime.OpenMpWaitPolicy.PreferPassive();
torch.set_num_threads(threads);

using var stop = new CancellationTokenSource();
var collector = new Thread(() =>
{
    while (!stop.IsCancellationRequested)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}) { IsBackground = true, Name = "gc-stress" };
if (stress) collector.Start();

int failures = 0;
foreach (var name in chosen)
{
    string? first = null;
    for (int r = 0; r < repeat; r++)
    {
        var lines = new List<string>();
        using (var scope = NewDisposeScope())
        {
            foreach (var (result, value) in scenarios[name]()) lines.Add($"{name}/{result} {Digest(value)}");
        }
        var text = string.Join("\n", lines);
        if (first is null)
        {
            first = text;
            Console.WriteLine(text);
        }
        else if (text != first)
        {
            failures++;
            Console.WriteLine($"{name}: repetition {r} differs from the first run");
        }
    }
}
stop.Cancel();
if (stress) collector.Join();
return failures == 0 ? 0 : 1;

static string Digest(Tensor t)
{
    using var scope = NewDisposeScope();
    var values = t.detach().to(CPU).to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
    var bytes = new byte[values.Length * 8];
    Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
    return $"[{string.Join("x", t.shape)}] {Convert.ToHexString(SHA256.HashData(bytes))[..24]}";
}

/// <summary>The probe's seeded work; every tensor is made inside the caller's dispose scope.</summary>
internal static class Scenarios
{
    /// <summary>Image height and width (a multiple of 4, for the baseline).</summary>
    public static int Size { get; set; } = 8;

    /// <summary>Forward and backward of the layer under masks that take each path: dense (raster), periodic (S-curve),
    /// gathered (Hilbert), general (a random order, per-image masks, a learned mask weight), per-image masks planned from
    /// their orders (gathered columns composed from the orders' analyses), in float32 and float64.</summary>
    public static IEnumerable<(string, Tensor)> ConvolutionPaths()
    {
        var random = GenerationOrder.FromSequence(Size, Size, Shuffled(Size * Size, 7));
        var orders = new (string Name, GenerationOrder Order)[]
        {
            ("raster", GenerationOrders.Raster(Size, Size)),
            ("s-curve", GenerationOrders.SCurve(Size, Size)),
            ("hilbert", GenerationOrders.GeneralizedHilbert(Size, Size)),
            ("random", random),
        };
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            foreach (int dilation in new[] { 1, 2 })
            {
                foreach (var (name, order) in orders)
                {
                    var mask = LocalMasks.Create(order, 3, dilation, MaskType.B, dtype: dtype);
                    foreach (var r in Layer($"{name}-d{dilation}-{dtype}", mask, dtype, dilation, maskWeight: false)) yield return r;
                }
                var perImage = LocalMasks.Create(orders.Select(o => o.Order).Take(2).ToArray(), 3, dilation, MaskType.B, dtype: dtype);
                foreach (var r in Layer($"per-image-d{dilation}-{dtype}", perImage, dtype, dilation, maskWeight: false)) yield return r;
                var fromOrders = MaskSet.Create(new[] { orders[1].Order, orders[3].Order, orders[1].Order }, 3, dilation, dtype);
                foreach (var r in Layer($"per-image-orders-d{dilation}-{dtype}", fromOrders.Dilated, dtype, dilation, maskWeight: false,
                             fromOrders.SourceOf(MaskRole.Dilated), batch: 3))
                    yield return r;
                var learned = LocalMasks.Create(random, 3, dilation, MaskType.A, dtype: dtype);
                foreach (var r in Layer($"mask-weight-d{dilation}-{dtype}", learned, dtype, dilation, maskWeight: true)) yield return r;
            }
        }
    }

    /// <summary>
    /// bf16-mixed precision: every kernel forced in bf16, the layer with a learned mask weight and with per-image masks
    /// planned from their orders, both models' losses, gradients and likelihoods, training steps (one and two workers),
    /// cached (CPU loops and torch operations) and naive sampling and a completion.
    /// </summary>
    public static IEnumerable<(string, Tensor)> MixedPrecision()
    {
        var bf16 = ComputePrecision.BFloat16Mixed;
        foreach (var (name, value) in Kernels(bf16)) yield return ($"kernels/{name}", value);
        var random = GenerationOrder.FromSequence(Size, Size, Shuffled(Size * Size, 7));
        var fromOrders = MaskSet.Create(new[] { GenerationOrders.SCurve(Size, Size), random, GenerationOrders.SCurve(Size, Size) }, 3, 2, ScalarType.Float32);
        foreach (var r in Layer("per-image-orders", fromOrders.Dilated, ScalarType.Float32, 2, maskWeight: false, fromOrders.SourceOf(MaskRole.Dilated), batch: 3, bf16))
            yield return r;
        foreach (var r in Layer("mask-weight", LocalMasks.Create(random, 3, 1, MaskType.A), ScalarType.Float32, 1, maskWeight: true, precision: bf16))
            yield return r;
        foreach (var lmconv in new[] { true, false })
        {
            foreach (var (name, value) in ModelHeads(lmconv, bf16)) yield return ($"heads-{lmconv}/{name}", value);
            foreach (var (name, value) in Training(lmconv, 1, bf16)) yield return ($"train-{lmconv}/{name}", value);
        }
        foreach (var (name, value) in Training(lmconv: true, 2, bf16)) yield return ($"train-workers/{name}", value);
        foreach (var (name, value) in Sampling(bf16)) yield return ($"sampling/{name}", value);
    }

    /// <summary>Every kernel forced on masks it can take: dense boxes with wide columns, columns only in chunks, gathered
    /// columns (grouped three ways, in chunks), periodic strided convolutions; forward and backward; in float32 unless a
    /// mixed precision is given (then on operands cast to its type, the bias added in float32).</summary>
    public static IEnumerable<(string, Tensor)> Kernels() => Kernels(ComputePrecision.Float32);

    private static IEnumerable<(string, Tensor)> Kernels(ComputePrecision precision)
    {
        var productType = precision.ProductType ?? ScalarType.Float32;
        var masks = new (string Name, Tensor Mask)[]
        {
            ("raster", LocalMasks.Create(GenerationOrders.Raster(Size, Size), 3, 1, MaskType.B)),
            ("s-curve", LocalMasks.Create(GenerationOrders.SCurve(Size, Size), 3, 2, MaskType.A)),
            ("hilbert", LocalMasks.Create(GenerationOrders.GeneralizedHilbert(Size, Size), 3, 1, MaskType.B)),
            ("random", LocalMasks.Create(GenerationOrder.FromSequence(Size, Size, Shuffled(Size * Size, 3)), 3, 2, MaskType.B)),
        };
        foreach (var (name, mask) in masks)
        {
            MaskPlan Make(Func<IReadOnlyList<int>, (int, int, int, int)?>? box, long? chunk, bool? periodic, bool? gathered, PlanCosts? costs = null)
                => MaskPlan.Create(mask, Size, Size, 3, name is "s-curve" or "random" ? 2 : 1, 5, productType, CPU, box, chunk, periodic,
                    costs ?? PlanCosts.CpuTable, gathered, 6, 2);
            var plans = new (string, MaskPlan)[]
            {
                ("automatic", Make(null, null, null, null)),
                ("gathered", Make(null, null, false, true)),
                ("gathered-chunks", Make(null, 3, false, true)),
                ("gathered-per-pattern", Make(null, null, false, true, PlanCosts.CpuTable with { OperationSeconds = 0, ProductHalfFlops = 0 })),
                ("gathered-one-group", Make(null, null, false, true, PlanCosts.CpuTable with { OperationSeconds = 1 })),
                ("periodic", Make(null, null, true, false)),
                ("columns-chunks", Make(_ => null, 1, false, false)),
                ("box-3x3", Make(full => full.Count > 0 ? (0, 2, 0, 2) : null, null, false, false)),
                ("box-first-tap", Make(full => full.Count > 0 ? (full[0] / 3, full[0] / 3, full[0] % 3, full[0] % 3) : null, 1, false, false)),
            };
            foreach (var (planName, plan) in plans)
            {
                using var generator = new Generator(13);
                var x = randn(new long[] { 2, 5, Size, Size }, generator: generator).requires_grad_(true);
                var weight = randn(new long[] { 6, 5, 3, 3 }, generator: generator).requires_grad_(true);
                var bias = randn(new long[] { 6 }, generator: generator).requires_grad_(true);
                Tensor y;
                if (!precision.IsMixed)
                {
                    y = plan.General ? ConvolutionPlanner.General(x, weight, bias, mask, 3, plan.Dilation) : ConvolutionPlanner.Apply(x, weight, bias, plan);
                }
                else
                {
                    var (input, w) = (precision.Operand(x), precision.Operand(weight));
                    var product = plan.General
                        ? ConvolutionPlanner.General(input, w, null, mask.to(productType), 3, plan.Dilation)
                        : ConvolutionPlanner.Apply(input, w, null, plan);
                    y = ComputePrecision.Result(product, ScalarType.Float32, bias.view(1, -1, 1, 1));
                }
                var upstream = randn(y.shape, generator: generator);
                var grads = autograd.grad(new[] { (y * upstream).sum() }, new[] { x, weight, bias });
                yield return ($"{name}/{planName}/output", y);
                yield return ($"{name}/{planName}/grad-x", grads[0]);
                yield return ($"{name}/{planName}/grad-weight", grads[1]);
                yield return ($"{name}/{planName}/grad-bias", grads[2]);
            }
        }
    }

    private static IEnumerable<(string, Tensor)> Layer(string name, Tensor mask, ScalarType dtype, int dilation, bool maskWeight,
        MaskSource? source = null, int batch = 2, ComputePrecision? precision = null)
    {
        using var generator = new Generator(11);
        var x = randn(new long[] { batch, 5, Size, Size }, dtype: dtype, generator: generator).requires_grad_(true);
        var weight = randn(new long[] { 6, 5, 3, 3 }, dtype: dtype, generator: generator).requires_grad_(true);
        var bias = randn(new long[] { 6 }, dtype: dtype, generator: generator).requires_grad_(true);
        var term = maskWeight ? randn(new long[] { 6, 3, 3 }, dtype: dtype, generator: generator).requires_grad_(true) : null;
        var y = source is null
            ? LocallyMaskedConvolution.locally_masked_conv2d(x, mask, weight, bias, term, dilation, precision: precision)
            : LocallyMaskedConvolution.Apply(x, mask, source, weight, bias, term, 3, dilation, PlanningPolicy.Deterministic, precision);
        var upstream = randn(y.shape, dtype: dtype, generator: generator);
        var grads = autograd.grad(new[] { (y * upstream).sum() }, term is null ? new[] { x, weight, bias } : new[] { x, weight, bias, term });
        yield return ($"{name}/output", y);
        yield return ($"{name}/grad-x", grads[0]);
        yield return ($"{name}/grad-weight", grads[1]);
        yield return ($"{name}/grad-bias", grads[2]);
        if (term is not null) yield return ($"{name}/grad-mask-weight", grads[3]);
    }

    /// <summary>Loss, gradients and per-order likelihoods of a tiny model of each kind with every head.</summary>
    public static IEnumerable<(string, Tensor)> ModelHeads(bool lmconv) => ModelHeads(lmconv, ComputePrecision.Float32);

    private static IEnumerable<(string, Tensor)> ModelHeads(bool lmconv, ComputePrecision precision)
    {
        foreach (var (head, owned, images) in Models(lmconv, dropout: 0))
        {
            using (owned)
            {
                var model = owned.WithPrecision(precision);
                var orders = Orders(model);
                model.Module.train();
                var loss = model.LogLikelihood(images, orders[0]).mean().neg();
                var gradients = autograd.grad(new[] { loss }, model.Module.parameters().ToArray());
                yield return ($"{head}/loss", loss);
                yield return ($"{head}/gradients", cat(gradients.Select(g => g.flatten()).ToArray()));
                model.Module.eval();
                using (no_grad())
                {
                    yield return ($"{head}/per-order", model.PerOrderLogLikelihoods(images, orders));
                    yield return ($"{head}/ensemble", model.EnsembleLogLikelihood(images, orders));
                }
            }
        }
    }

    /// <summary>A few training steps of each head (dropout on), the losses and the final weights.</summary>
    public static IEnumerable<(string, Tensor)> Training(bool lmconv, int workers) => Training(lmconv, workers, ComputePrecision.Float32);

    private static IEnumerable<(string, Tensor)> Training(bool lmconv, int workers, ComputePrecision precision)
    {
        foreach (var (head, model, _) in Models(lmconv, dropout: 0.3))
        {
            using (model)
            {
                var config = model.Configuration;
                var data = Digits(24, config.ImageChannels);
                bool binary = config.Likelihood == LocallyMasked.Likelihoods.LikelihoodKind.Binary;
                var options = new TrainerOptions
                {
                    BatchSize = 6, LearningRate = 2e-3, Seed = 5, Workers = workers, EmaDecay = 0.9, Precision = precision,
                    Encoding = binary ? InputEncoding.DynamicBinarization : InputEncoding.Signed,
                };
                using var trainer = PixelCnnTraining.CreateTrainer(model, Orders(model), data, data, options);
                var losses = new List<double>();
                for (int s = 0; s < 3; s++) losses.Add(trainer.TrainStep());
                yield return ($"{head}/losses", tensor(losses.ToArray()));
                yield return ($"{head}/weights", cat(model.Module.parameters().Select(p => p.detach().flatten()).ToArray()));
                var report = LikelihoodEvaluation.Evaluate(model.WithPrecision(precision), data, options.Encoding, Orders(model), computeWith: trainer.OnWorkers);
                yield return ($"{head}/evaluation", tensor(report.PerOrder.Append(report.Ensemble).ToArray()));
            }
        }
    }

    /// <summary>The evaluation on two worker threads and on the calling thread.</summary>
    public static IEnumerable<(string, Tensor)> Evaluation()
    {
        foreach (var (head, model, _) in Models(lmconv: true, dropout: 0).Concat(Models(lmconv: false, dropout: 0)))
        {
            using (model)
            {
                var config = model.Configuration;
                var data = Digits(10, config.ImageChannels);
                var encoding = config.Likelihood == LocallyMasked.Likelihoods.LikelihoodKind.Binary ? InputEncoding.DynamicBinarization : InputEncoding.Signed;
                var plain = LikelihoodEvaluation.Evaluate(model, data, encoding, Orders(model), batchSize: 8);
                using var workers = new EvaluationWorkers(2);
                var sharded = LikelihoodEvaluation.Evaluate(model, data, encoding, Orders(model), batchSize: 8, computeWith: workers.Wrap);
                yield return ($"{model.Kind}-{head}/plain", tensor(plain.PerOrder.Append(plain.Ensemble).ToArray()));
                yield return ($"{model.Kind}-{head}/workers", tensor(sharded.PerOrder.Append(sharded.Ensemble).ToArray()));
            }
        }
    }

    /// <summary>Cached (CPU loops and torch operations) and naive sampling, and a completion, of every head, in a precision.</summary>
    public static IEnumerable<(string, Tensor)> Sampling(ComputePrecision precision)
    {
        foreach (var (head, model, images) in Models(lmconv: true, dropout: 0).Concat(Models(lmconv: false, dropout: 0)))
        {
            using (model)
            {
                model.Module.eval();
                var order = Orders(model)[^1];
                var options = new SamplingOptions { Seed = 3 };
                var prefix = $"{model.Kind}-{head}";
                yield return ($"{prefix}/naive", new NaiveSampler(model.WithPrecision(precision)).Sample(order, 2, options));
                var region = ImageRegion.TopHalf(Size, Size);
                if (model is LocallyMaskedPixelCnn lmconv)
                {
                    yield return ($"{prefix}/cached", new CachedSampler(lmconv, precision).Sample(order, 2, options));
                    yield return ($"{prefix}/cached-torch", new CachedSampler(lmconv, precision) { UseCpuKernels = false }.Sample(order, 2, options));
                    yield return ($"{prefix}/completed", new CachedSampler(lmconv, precision).Complete(images, region, order.WithRegionLast(region.Pixels), options));
                }
                else
                {
                    yield return ($"{prefix}/completed", new NaiveSampler(model.WithPrecision(precision)).Complete(images, region, order, options));
                }
            }
        }
    }

    private static IEnumerable<(string Head, IAutoregressiveImageModel Model, Tensor Images)> Models(bool lmconv, double dropout)
    {
        var heads = new (string Name, int Channels, LocallyMasked.Likelihoods.LikelihoodKind Kind)[]
        {
            ("binary", 1, LocallyMasked.Likelihoods.LikelihoodKind.Binary),
            ("grey", 1, LocallyMasked.Likelihoods.LikelihoodKind.GreyLogisticMixture),
            ("rgb", 3, LocallyMasked.Likelihoods.LikelihoodKind.RgbLogisticMixture),
        };
        foreach (var (name, channels, kind) in heads)
        {
            manual_seed(17);
            IAutoregressiveImageModel model = lmconv
                ? new LocallyMaskedPixelCnn(new PixelCnnConfig
                {
                    ImageChannels = channels, Height = Size, Width = Size, Filters = 6, ResidualBlocks = 1, MixtureComponents = 2,
                    Likelihood = kind, Dropout = dropout, LearnWeightForMasks = kind == LocallyMasked.Likelihoods.LikelihoodKind.GreyLogisticMixture,
                })
                : new PixelCnnPlusPlus(new PixelCnnPlusPlusConfig
                {
                    ImageChannels = channels, Height = Size, Width = Size, Filters = 6, ResidualBlocks = 1, MixtureComponents = 2,
                    Likelihood = kind, Dropout = dropout,
                });
            var bytes = Digits(4, channels).Bytes(new[] { 0, 1, 2, 3 }, CPU);
            var images = kind == LocallyMasked.Likelihoods.LikelihoodKind.Binary
                ? bytes.gt(Scalars.Zero).to_type(ScalarType.Float32).mul(Scalars.Two).sub(Scalars.One)
                : PixelScaling.ToSigned(bytes, ScalarType.Float32, 8);
            yield return (name, model, images);
        }
    }

    private static IReadOnlyList<GenerationOrder> Orders(IAutoregressiveImageModel model) =>
        model.SupportedOrders ?? GenerationOrders.SCurve(Size, Size).Variants().Take(3).Append(GenerationOrders.GeneralizedHilbert(Size, Size)).ToArray();

    /// <summary>Deterministic images with strokes, blank borders and every intensity.</summary>
    private static ImageDataset Digits(int count, int channels)
    {
        var random = new Random(23);
        var pixels = new byte[count * channels * Size * Size];
        for (int i = 0; i < pixels.Length; i++)
        {
            int p = i % (Size * Size), row = p / Size, column = p % Size;
            bool border = row == 0 || column == 0 || row == Size - 1 || column == Size - 1;
            pixels[i] = border ? (byte)0 : (byte)random.Next(256);
        }
        return new ImageDataset(pixels, new byte[count], channels, Size, Size, "probe");
    }

    private static int[] Shuffled(int n, int seed)
    {
        var values = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(values);
        return values;
    }
}
