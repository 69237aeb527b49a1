using LocallyMasked.Convolution.Kernels;
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Measures the rates of <see cref="PlanCosts"/> on the CPU with the current thread settings: a 3x3 convolution and a
/// strided 2x3 one (forward and backward), a deep and a shallow matrix product of the same size and a small deep one, a row gather, and a
/// series of tiny products into views (the fixed cost of an operation). Each is the fastest of a few runs, which on a
/// shared machine is the closest to its unloaded speed. Constant inputs are used, so the global random generator is
/// left alone. Only <see cref="PlanningPolicy.TimingDependent"/> plans with these rates.
/// </summary>
internal static class CostCalibration
{
    private const int Batch = 16, Channels = 64, Size = 32, Repetitions = 3;

    private static readonly Dictionary<(ScalarType DType, int Threads), PlanCosts> Measured = new();

    /// <summary>The rates measured for a dtype and the current thread count, measured at the first call and kept for the process.</summary>
    /// <param name="dtype">The dtype the convolutions run in.</param>
    public static PlanCosts MeasuredOnce(ScalarType dtype)
    {
        lock (Measured)
        {
            var key = (dtype, get_num_threads());
            if (!Measured.TryGetValue(key, out var costs))
            {
                costs = Measure(dtype);
                Measured[key] = costs;
            }

            return costs;
        }
    }

    /// <summary>Measures the CPU rates for a dtype.</summary>
    /// <param name="dtype">The dtype the convolutions run in.</param>
    public static PlanCosts Measure(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // The first plan may be made under no_grad (evaluation); the convolutions' backward needs autograd.
        using var gradMode = enable_grad();
        var element = (double)WideColumnsFunction.ElementSize(dtype);
        using var half = 0.5.ToScalar();
        using var hundredth = 0.01.ToScalar();
        using var tenth = 0.1.ToScalar();
        const long rows = Batch * Size * Size;
        // Convolutions forward and backward (three products each): a 3x3 one, and the 2x3 one with stride (2, 1) of a
        // periodic class.
        var x = full(new long[] { Batch, Channels, Size, Size }, half, dtype).requires_grad_(true);
        var weight = full(new long[] { Channels, Channels, 3, 3 }, hundredth, dtype).requires_grad_(true);
        var strided = full(new long[] { Channels, Channels, 2, 3 }, hundredth, dtype).requires_grad_(true);
        var gradient = full(new long[] { Batch, Channels, Size, Size }, tenth, dtype);
        var stridedGradient = full(new long[] { Batch, Channels, Size / 2 + 1, Size }, tenth, dtype);

        // Products with a reduction of 9 * C and of C, the same size: their ratio gives the depth at half speed; a deep one
        // 16 times smaller: the size (operations per call) at half speed, as small products do not keep every thread
        // busy. Every result stays well below glibc's mmap threshold, which the kernels' chunks also keep below: a fresh
        // mapping would time the kernel's page zeroing instead.
        const long productRows = rows / 2, smallRows = productRows / 16;
        var deepLeft = full(new long[] { productRows, 9 * Channels }, half, dtype);
        var deepRight = full(new long[] { 9 * Channels, Channels }, hundredth, dtype);
        var smallLeft = deepLeft.narrow(0, 0, smallRows);
        var shallowLeft = full(new long[] { 9 * productRows, Channels }, half, dtype);
        var shallowRight = full(new long[] { Channels, Channels }, hundredth, dtype);

        // A gather of rows in a scattered order, as the gathered columns read their groups' pixels.
        var source = full(new long[] { 2 * rows, Channels }, half, dtype);
        var index = tensor(Enumerable.Range(0, (int)(4 * rows)).Select(i => i * 7919L % (2 * rows)).ToArray(), ScalarType.Int64);

        // The fixed cost of an operation: products of 8x8 matrices into a view, as the kernels write their groups.
        var target = zeros(new long[] { 64, 8 }, dtype);
        var (left, right) = (full(new long[] { 8, 8 }, half, dtype), full(new long[] { 8, 8 }, half, dtype));
        const int operations = 32;

        // Timed in turns, each the fastest of its turns, so that a change of load on a shared machine (another process
        // taking a core for a while) does not favour some of them.
        var times = FastestInTurns(
            () => Backward(nn.functional.conv2d(x, weight, padding: new long[] { 1, 1 }), gradient, x, weight),
            () => Backward(nn.functional.conv2d(x, strided, strides: new long[] { 2, 1 }, padding: new long[] { 1, 1 }), stridedGradient, x, strided),
            () => NoGrad(() => torch.mm(deepLeft, deepRight)),
            () => NoGrad(() =>
            {
                for (var i = 0; i < 15; i++)
                    torch.mm(smallLeft, deepRight).Dispose();
                return torch.mm(smallLeft, deepRight);
            }),
            () => NoGrad(() => torch.mm(shallowLeft, shallowRight)),
            () => NoGrad(() => source.index_select(0, index)),
            () => NoGrad(() =>
            {
                for (var i = 0; i < operations / 2; i++)
                {
                    using var view = target.narrow(0, 8 * (i % 8), 8);
                    view.addmm_(left, right, 0, 1);
                }

                return target.alias();
            }));
        var (convolution, stridedConvolution, deep, small, shallow, gather, operation) =
            (times[0], times[1], times[2], times[3] / 16, times[4], times[5], times[6] / operations);

        var flops = 2.0 * rows * Channels * Channels * 9;
        var stridedFlops = 2.0 * stridedGradient.NumberOfElements / Channels * Channels * Channels * 6;
        const double deepDepth = 9 * Channels, shallowDepth = Channels;
        var ratio = Math.Clamp(shallow / deep, 1.0, deepDepth / shallowDepth - 0.5);
        var halfDepth = Math.Clamp(deepDepth * shallowDepth * (ratio - 1) / (deepDepth - shallowDepth * ratio), 0.0, 4096.0);
        var (deepFlops, smallFlops) = (2.0 * productRows * deepDepth * Channels, 2.0 * smallRows * deepDepth * Channels);
        var sizeRatio = Math.Clamp(small / smallFlops / (deep / deepFlops), 1.0, 0.9 * deepFlops / smallFlops);
        // While other processes keep a core busy, small products lose nothing to thread start-up, so a loaded moment
        // measures no size penalty; the idle machine's value (the CPU table's) is the least used, lest a calibration
        // under load leave many small products that run at half speed once the machine is idle.
        var halfFlops = Math.Max(Math.Clamp((sizeRatio - 1) / (1 / smallFlops - sizeRatio / deepFlops), 0.0, 1e10), PlanCosts.CpuTable.ProductHalfFlops);
        var productFlops = deepFlops / deep * (deepDepth + halfDepth) / deepDepth * (deepFlops + halfFlops) / deepFlops;
        var bytesPerSecond = 2.0 * index.shape[0] * Channels * element / gather;

        return new PlanCosts($"measured on this cpu ({dtype}, {get_num_threads()} threads)", 3 * flops / convolution, productFlops, halfDepth,
            bytesPerSecond, operation) { StridedConvolutionFlops = 3 * stridedFlops / stridedConvolution, ProductHalfFlops = halfFlops };
    }

    private static Tensor NoGrad(Func<Tensor> operation)
    {
        using var noGrad = no_grad();
        return operation();
    }

    /// <summary>Runs the backward of an output and returns the input gradient (the weight's is dropped).</summary>
    private static Tensor Backward(Tensor output, Tensor gradient, Tensor x, Tensor weight)
    {
        var gradients = autograd.grad(new[] { output }, new[] { x, weight }, new[] { gradient });
        output.Dispose();
        gradients[1].Dispose();
        return gradients[0];
    }

    /// <summary>Each operation once to warm up, then every operation in turn, <see cref="Repetitions"/> times; the fastest of each.</summary>
    private static double[] FastestInTurns(params Func<Tensor>[] operations)
    {
        foreach (var operation in operations)
            operation().Dispose();
        var fastest = Enumerable.Repeat(double.MaxValue, operations.Length).ToArray();
        for (var i = 0; i < Repetitions; i++)
        {
            for (var k = 0; k < operations.Length; k++)
            {
                var clock = Stopwatch.StartNew();
                operations[k]().Dispose();
                fastest[k] = Math.Min(fastest[k], clock.Elapsed.TotalSeconds);
            }
        }

        return fastest.Select(t => Math.Max(t, 1e-7)).ToArray();
    }
}
