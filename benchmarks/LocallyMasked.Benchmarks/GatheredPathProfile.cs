using System.Diagnostics;
using LocallyMasked.Convolution;
using LocallyMasked.Convolution.Kernels;
using LocallyMasked.Convolution.Planning;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Benchmarks;

/// <summary>
/// <c>precision-report --gathered [--reps N]</c>: where the time of the gathered-columns path goes, for a Hilbert-order
/// layer at the layer table's two shapes, in float32 and bf16: the layer as the model calls it, the kernel's forward and
/// backward, their phases timed apart (the per-group products; the layout copies and gathers, here in one piece where
/// the kernel works in chunks of 8 MB, so an upper bound), and the same arithmetic as one large product per pass (what
/// the products would take if the groups were one). Medians of N reps after one warm-up rep (ms).
/// </summary>
internal static class GatheredPathProfile
{
    public static int Run(int reps)
    {
        Console.WriteLine($"medians of {reps} reps after one warm-up rep (ms); Hilbert masks (type B), 3x3, deterministic plans");
        Console.WriteLine("| shape, dtype (plan) | layer fwd+bwd | conv2d fwd+bwd | kernel fwd | kernel bwd | products (fwd, dX, dW) | as one product each | copies and gathers, unchunked |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (n, c, size) in new[] { (16, 160, 32), (32, 64, 28) })
            foreach (var precision in ComputePrecision.All)
                Row(n, c, size, precision, reps);
        return 0;
    }

    private static void Row(int n, int c, int size, ComputePrecision precision, int reps)
    {
        var dtype = precision.ProductType ?? ScalarType.Float32;
        manual_seed(0);
        var layer = new LocallyMaskedConv2d(c, c, 3, 1);
        var weight = layer.get_parameter("weight")!;
        var bias = layer.get_parameter("bias")!;
        var x32 = randn(new long[] { n, c, size, size }, requires_grad: true);
        var g32 = randn(new long[] { n, c, size, size });
        var mask32 = LocalMasks.Create(GenerationOrders.GeneralizedHilbert(size, size), 3, 1, MaskType.B);
        // The kernel's own operands, as the layer hands them over in this precision.
        var (x, w, g, mask) = (x32.detach().to(dtype), weight.detach().to(dtype), g32.to(dtype), mask32.to(dtype));
        var plan = ConvolutionPlanner.PlanFor(mask, mask, x, 3, 1, layer.Planning);
        var layout = plan.Gathered ?? throw new InvalidOperationException($"Expected a gathered plan, got {plan}.");
        var (forward, backward) = layout.IndicesFor(n, x.device);
        using var forwardTaps = w.permute(2, 3, 1, 0).reshape(-1, c, c);
        using var backwardTaps = w.permute(2, 3, 0, 1).reshape(-1, c, c);
        // Per rep, the sum of each phase's timings; the medians are over the reps.
        var times = new Dictionary<string, List<double>>();
        var rep = new Dictionary<string, double>();
        void Time(string name, Action step, double scale = 1)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            step();
            rep[name] = rep.GetValueOrDefault(name) + scale * clock.Elapsed.TotalMilliseconds;
        }

        for (var r = 0; r <= reps; r++)
        {
            rep.Clear();
            Time("layer", () => layer.forward(x32, mask32, precision).backward(new[] { g32 }));
            Time("conv2d", () =>
            {
                var input = precision.IsMixed ? x32.to(dtype) : x32.alias();
                var y = nn.functional.conv2d(input, weight.to(dtype), padding: new long[] { 1, 1 }).to(ScalarType.Float32).Plus(bias.view(1, -1, 1, 1));
                y.backward(new[] { g32 });
            });
            Time("kernel fwd", () => GatheredColumnsFunction.Forward(x, w, null, layout));
            Time("kernel bwd", () => GatheredColumnsFunction.Backward(g, x, w, layout, true, true, false));
            using var scope = NewDisposeScope();
            Tensor padded = null!, rows = null!, inputRows = null!, gradientRows = null!, sorted = empty(new long[] { forward.Units, c }, dtype);
            Time("copies", () => padded = layout.PadChannelsLast(x).MoveToOuterDisposeScope());
            Time("copies", () => rows = padded.index_select(0, forward.Gather).MoveToOuterDisposeScope());
            Time("products", () => Products(rows, forward, forwardTaps, sorted));
            Time("copies", () => sorted.index_select(0, forward.Inverse).view(n, size, size, c).permute(0, 3, 1, 2).contiguous());
            Time("copies", () => padded = layout.PadChannelsLast(g).MoveToOuterDisposeScope());
            Time("copies", () => gradientRows = padded.index_select(0, backward.Gather).MoveToOuterDisposeScope());
            Time("copies", () => inputRows = x.permute(0, 2, 3, 1).reshape(-1, c).index_select(0, backward.Order).MoveToOuterDisposeScope());
            Time("products", () => Products(gradientRows, backward, backwardTaps, sorted));
            Time("products", () => WeightProducts(gradientRows, inputRows, backward));
            Time("copies", () => sorted.index_select(0, backward.Inverse).view(n, size, size, c).permute(0, 3, 1, 2).contiguous());
            // The same arithmetic as one product per pass: every unit with the direction's mean tap count rounded down,
            // one (units, S*C) matrix, its time scaled up to the gathered rows' arithmetic.
            var (taps, gradientTaps) = (rows.shape[0] / forward.Units, gradientRows.shape[0] / backward.Units);
            var (scale, gradientScale) = ((double)rows.shape[0] / (forward.Units * taps), (double)gradientRows.shape[0] / (backward.Units * gradientTaps));
            using var all = rows.narrow(0, 0, forward.Units * taps).view(forward.Units, -1);
            using var matrix = forwardTaps.narrow(0, 0, taps).reshape(-1, c);
            using var allGradient = gradientRows.narrow(0, 0, backward.Units * gradientTaps).view(backward.Units, -1);
            using var gradientMatrix = backwardTaps.narrow(0, 0, gradientTaps).reshape(-1, c);
            Time("one product", () => sorted.addmm_(all, matrix, 0, 1), scale);
            Time("one product", () => sorted.addmm_(allGradient, gradientMatrix, 0, 1), gradientScale);
            Time("one product", () => inputRows.t().mm(allGradient), gradientScale);
            if (r > 0)
                foreach (var (name, ms) in rep)
                    (times.TryGetValue(name, out var list) ? list : times[name] = new List<double>()).Add(ms);
        }

        var m = times.ToDictionary(p => p.Key, p => PrecisionReport.Median(p.Value));
        Console.WriteLine($"| {n} x {c} x {size}x{size}, {dtype} ({plan}) | {m["layer"]:F1} | {m["conv2d"]:F1} | {m["kernel fwd"]:F1} | {m["kernel bwd"]:F1} | " +
            $"{m["products"]:F1} | {m["one product"]:F1} | {m["copies"]:F1} |");
    }

    /// <summary>The per-group products of one direction, as the kernel runs them (without its chunking).</summary>
    private static void Products(Tensor rows, GatheredLayout.Direction direction, Tensor taps, Tensor sorted)
    {
        long row = 0;
        foreach (var group in direction.Groups)
        {
            if (group.TapCount == 0) continue;
            using var index = direction.Taps.narrow(0, group.TapStart, group.TapCount);
            using var matrix = taps.index_select(0, index).view(-1, taps.shape[2]);
            using var groupRows = rows.narrow(0, row, group.Count * group.TapCount).view(group.Count, -1);
            using var target = sorted.narrow(0, group.Start, group.Count);
            target.addmm_(groupRows, matrix, 0, 1);
            row += group.Count * group.TapCount;
        }
    }

    /// <summary>The weight gradient's per-group products x^T G, as the kernel runs them.</summary>
    private static void WeightProducts(Tensor gradientRows, Tensor inputRows, GatheredLayout.Direction direction)
    {
        long row = 0;
        foreach (var group in direction.Groups)
        {
            if (group.TapCount == 0) continue;
            using var rows = gradientRows.narrow(0, row, group.Count * group.TapCount).view(group.Count, -1);
            using var input = inputRows.narrow(0, group.Start, group.Count);
            using var product = input.t().mm(rows);
            row += group.Count * group.TapCount;
        }
    }
}
