using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Measures the rates of <see cref="PlanCosts"/> on the CPU with the current thread settings: a 3x3 convolution and a
/// strided 2x3 one (forward and backward), a deep and a shallow matrix product of the same size, and a row gather at two sizes (whose difference gives the bytes
/// per second and whose intercept the fixed cost of an operation). Each is the fastest of a few runs, which on a shared
/// machine is the closest to its unloaded speed; about 0.1 s in all. Constant inputs are used, so the global random
/// generator is left alone.
/// </summary>
internal static class CostCalibration
{
    private const int Batch = 8, Channels = 64, Size = 32, Repetitions = 4;

    /// <summary>Measures the CPU rates for a dtype.</summary>
    /// <param name="dtype">The dtype the convolutions run in.</param>
    public static PlanCosts Measure(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        // The first plan may be made under no_grad (evaluation); the convolutions' backward needs autograd.
        using var gradMode = enable_grad();
        var element = dtype == ScalarType.Float64 ? 8.0 : 4.0;
        const long rows = Batch * Size * Size;
        // Convolutions forward and backward (three products each): a 3x3 one, and the 2x3 one with stride (2, 1) of a
        // periodic class, whose input gradient is slower per operation.
        var x = full(new long[] { Batch, Channels, Size, Size }, 0.5, dtype).requires_grad_(true);
        var weight = full(new long[] { Channels, Channels, 3, 3 }, 0.01, dtype).requires_grad_(true);
        var strided = full(new long[] { Channels, Channels, 2, 3 }, 0.01, dtype).requires_grad_(true);
        var gradient = full(new long[] { Batch, Channels, Size, Size }, 0.1, dtype);
        var stridedGradient = full(new long[] { Batch, Channels, Size / 2 + 1, Size }, 0.1, dtype);
        var flops = 2.0 * rows * Channels * Channels * 9;
        var convolution = Fastest(() => Backward(nn.functional.conv2d(x, weight, padding: new long[] { 1, 1 }), gradient, x, weight));
        var stridedConvolution = Fastest(() => Backward(
            nn.functional.conv2d(x, strided, strides: new long[] { 2, 1 }, padding: new long[] { 1, 1 }), stridedGradient, x, strided));
        var stridedFlops = 2.0 * stridedGradient.NumberOfElements / Channels * Channels * Channels * 6;
        using var noGrad = no_grad();
        // The same operations with a reduction of 9 * C and of C: their ratio gives the depth at half speed.
        var deepLeft = full(new long[] { rows, 9 * Channels }, 0.5, dtype);
        var deepRight = full(new long[] { 9 * Channels, Channels }, 0.01, dtype);
        var deep = Fastest(() => torch.mm(deepLeft, deepRight));
        var shallowLeft = full(new long[] { 9 * rows, Channels }, 0.5, dtype);
        var shallowRight = full(new long[] { Channels, Channels }, 0.01, dtype);
        var shallow = Fastest(() => torch.mm(shallowLeft, shallowRight));
        const double deepDepth = 9 * Channels, shallowDepth = Channels;
        var ratio = Math.Clamp(shallow / deep, 1.0, deepDepth / shallowDepth - 0.5);
        var halfDepth = Math.Clamp(deepDepth * shallowDepth * (ratio - 1) / (deepDepth - shallowDepth * ratio), 0.0, 4096.0);
        var productFlops = flops / deep * (deepDepth + halfDepth) / deepDepth;

        // Gathers of many and of few rows: time = fixed + bytes / rate.
        var source = full(new long[] { 2 * rows, Channels }, 0.5, dtype);
        var many = arange(0, 9 * rows, dtype: ScalarType.Int64).remainder(2 * rows);
        var few = many.narrow(0, 0, 1024);
        var (manyBytes, fewBytes) = (2.0 * many.shape[0] * Channels * element, 2.0 * few.shape[0] * Channels * element);
        var manyTime = Fastest(() => source.index_select(0, many));
        var fewTime = Fastest(() => source.index_select(0, few));
        var bytesPerSecond = (manyBytes - fewBytes) / Math.Max(manyTime - fewTime, 1e-9);
        var operationSeconds = Math.Max(1e-6, fewTime - fewBytes / bytesPerSecond);

        return new PlanCosts($"measured on this cpu ({dtype}, {get_num_threads()} threads)", 3 * flops / convolution, productFlops, halfDepth,
            bytesPerSecond, operationSeconds) { StridedConvolutionFlops = 3 * stridedFlops / stridedConvolution };
    }

    /// <summary>Runs the backward of an output and returns the input gradient (the weight's is dropped).</summary>
    private static Tensor Backward(Tensor output, Tensor gradient, Tensor x, Tensor weight)
    {
        var gradients = autograd.grad(new[] { output }, new[] { x, weight }, new[] { gradient });
        output.Dispose();
        gradients[1].Dispose();
        return gradients[0];
    }

    private static double Fastest(Func<Tensor> operation)
    {
        operation().Dispose();
        var fastest = double.MaxValue;
        for (var i = 0; i < Repetitions; i++)
        {
            var clock = Stopwatch.StartNew();
            operation().Dispose();
            fastest = Math.Min(fastest, clock.Elapsed.TotalSeconds);
        }

        return Math.Max(fastest, 1e-7);
    }
}
