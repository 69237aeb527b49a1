using System.Globalization;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// One locally masked convolution layer, forward and backward (input, weight and bias gradients), against libtorch's
/// conv2d with a weight mask (the PixelCNN way, the speed to match), float32, 2 threads, same weights and inputs.
/// </summary>
/// <remarks>
/// The cases run in process (BenchmarkDotNet's generated projects do not get the native-loading fix of this
/// repository's build). Before timing, the setup of each case runs one step (so that one-time allocations such as the
/// mask analysis and libtorch's kernel caches are not counted), then records the peak extra resident memory of a
/// second step: the process's peak RSS (VmHWM, reset through /proc/self/clear_refs) minus the RSS just before it,
/// after malloc_trim has returned the memory freed before it (also by earlier cases) to the system. libtorch allocates natively, so the
/// GC's numbers (MemoryDiagnoser) would not see it. The figures, the plan and its estimated time (ms) are printed and
/// appended to BenchmarkDotNet.Artifacts/lmconv-memory.csv, the planner's measured rates to lmconv-costs.txt.
/// Run: <c>dotnet run -c Release --project benchmarks/LocallyMasked.Benchmarks -- --filter '*LmConv*'</c>.
/// </remarks>
[Config(typeof(LmConvBenchmarkConfig))]
public class LmConvBenchmarks
{
    private LocallyMaskedConv2d layer = null!;
    private Tensor x = null!;
    private Tensor gradOutput = null!;
    private Tensor mask = null!;
    private Tensor kernelMask = null!;

    /// <summary>Batch x channels x size.</summary>
    [Params("16x160x32", "32x64x28")]
    public string Shape { get; set; } = "16x160x32";

    /// <summary>The generation order whose type-B mask is used (s-curve/i: the i-th symmetric variant of the S-curve).</summary>
    [Params("raster", "s-curve/0", "s-curve/1", "s-curve/2", "s-curve/3", "s-curve/4", "s-curve/5", "s-curve/6", "s-curve/7", "hilbert", "random")]
    public string Mask { get; set; } = "raster";

    /// <summary>Builds the inputs and measures the peak memory of one conv2d step.</summary>
    [GlobalSetup(Target = nameof(Conv2dWeightMasked))]
    public void SetupConv2d() => Setup(nameof(Conv2dWeightMasked), Conv2dWeightMasked);

    /// <summary>Builds the inputs and measures the peak memory of one LMConv step.</summary>
    [GlobalSetup(Target = nameof(LocallyMaskedConv))]
    public void SetupLocallyMaskedConv() => Setup(nameof(LocallyMaskedConv), LocallyMaskedConv);

    private void Setup(string method, Action step)
    {
        torch.set_num_threads(2);
        manual_seed(0);
        var parts = Shape.Split('x').Select(int.Parse).ToArray();
        var (n, c, size) = (parts[0], parts[1], parts[2]);
        // Plans from this machine's measured rates, as recorded in lmconv-costs.txt below.
        layer = new LocallyMaskedConv2d(c, c, 3, 1, planning: PlanningPolicy.TimingDependent);
        x = randn(n, c, size, size, requires_grad: true);
        gradOutput = randn(n, c, size, size);
        mask = CreateMask(Mask, size);
        // PixelCNN's type-B kernel mask: the taps before the centre in raster order and the centre.
        kernelMask = tensor(new float[] { 1, 1, 1, 1, 1, 0, 0, 0, 0 }).view(3, 3);

        step();
        var peak = PeakExtraBytes(step);
        var unfolded = (long)n * c * 9 * size * size * sizeof(float);
        var plan = ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, layer.Planning);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{Shape},{Mask},{method},{peak / 1048576.0:F1},{unfolded / 1048576.0:F1},\"{plan}\",{plan.Estimate * 1e3:F1}");
        Console.WriteLine($"// lmconv-memory: {line}");
        Directory.CreateDirectory("BenchmarkDotNet.Artifacts");
        File.AppendAllText(Path.Combine("BenchmarkDotNet.Artifacts", "lmconv-memory.csv"), line + Environment.NewLine);
        // The rates the plans were chosen with (measured once per process at the first plan; docs/benchmarks.md, "Planner").
        var costs = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {plan.Costs}";
        Console.WriteLine($"// lmconv-costs: {costs}");
        File.AppendAllText(Path.Combine("BenchmarkDotNet.Artifacts", "lmconv-costs.txt"), costs + Environment.NewLine);
    }

    /// <summary>conv2d with the PixelCNN weight mask, forward and backward.</summary>
    [Benchmark(Baseline = true)]
    public void Conv2dWeightMasked()
    {
        using var scope = NewDisposeScope();
        var weight = layer.get_parameter("weight")!;
        var output = nn.functional.conv2d(x, weight * kernelMask, layer.get_parameter("bias"), padding: new long[] { 1, 1 });
        output.backward(new[] { gradOutput });
        ClearGradients();
    }

    /// <summary>The locally masked convolution with the case's mask, forward and backward.</summary>
    [Benchmark]
    public void LocallyMaskedConv()
    {
        using var scope = NewDisposeScope();
        var output = layer.forward(x, mask);
        output.backward(new[] { gradOutput });
        ClearGradients();
    }

    private void ClearGradients()
    {
        x.grad?.zero_();
        foreach (var p in layer.parameters())
            p.grad?.zero_();
    }

    private static Tensor CreateMask(string kind, int size)
    {
        if (kind == "random")
        {
            // Random per-location masks: every tap on or off with probability 1/2, the centre on.
            using var maskGenerator = new Generator(1);
            using var draws = rand(new long[] { 9, size * size }, generator: maskGenerator);
            using var on = draws.LessThan(0.5);
            var random = on.to(ScalarType.Float32);
            random[4].FillInPlace(1.0);
            return random;
        }

        var order = kind switch
        {
            "raster" => GenerationOrders.Raster(size, size),
            "hilbert" => GenerationOrders.GeneralizedHilbert(size, size),
            _ => GenerationOrders.SCurve(size, size).Variants()[int.Parse(kind["s-curve/".Length..], CultureInfo.InvariantCulture)],
        };
        return LocalMasks.Create(order, 3, 1, MaskType.B);
    }

    /// <summary>Peak resident memory added by one call (Linux; -1 elsewhere).</summary>
    private static long PeakExtraBytes(Action step)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            step();
            return -1;
        }

        long Read(string key) => long.Parse(File.ReadLines(status).First(l => l.StartsWith(key, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

        // Return freed heap memory first, so that the step's own allocations show up in the RSS.
        MallocTrim(UIntPtr.Zero);
        // Writing 5 resets the peak (VmHWM) to the current RSS.
        File.WriteAllText("/proc/self/clear_refs", "5");
        var before = Read("VmRSS:");
        step();
        return Read("VmHWM:") - before;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(UIntPtr pad);
}
