using System.Runtime.CompilerServices;
using LocallyMasked.Masks;
using LocallyMasked.Orders;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Plans for masks computed from orders (<see cref="MaskSource"/>). Each order's mask is analysed on the host from the
/// order itself (<see cref="MaskAnalysis.FromOrder"/>), once per order, kernel, dilation and mask type, and kept as long
/// as the order object lives; its plans are cached with the analysis per layer shape, dtype, device and policy. A batch
/// with one order per image composes its plan from those analyses: with one order in all images, that order's plan for
/// the batch; otherwise gathered columns grouped over the images' tap patterns (the layout the per-image mask tensor
/// would get, without reading it back), kept for the last few sequences of orders.
/// </summary>
internal static class OrderPlans
{
    /// <summary>Composed plans kept (most recently used first): a few layer shapes of a few batches.</summary>
    private const int ComposedCapacity = 8;

    private static readonly ConditionalWeakTable<GenerationOrder, Dictionary<(int KernelSize, int Dilation, MaskType Type), MaskAnalysis>> Analyses = new();
    private static readonly List<(MaskAnalysis[] Samples, PlanKey Key, MaskPlan Plan)> Composed = new();

    /// <summary>The analysis of the mask an order induces, made on first use and kept while the order lives.</summary>
    public static MaskAnalysis AnalysisOf(GenerationOrder order, int kernelSize, int dilation, MaskType type)
    {
        var analyses = Analyses.GetValue(order, _ => new());
        lock (analyses)
        {
            if (!analyses.TryGetValue((kernelSize, dilation, type), out var analysis))
            {
                analysis = MaskAnalysis.FromOrder(order, kernelSize, dilation, type);
                analyses[(kernelSize, dilation, type)] = analysis;
            }

            return analysis;
        }
    }

    /// <summary>How many masks of this order object have been analysed (for tests: a repeated call analyses nothing).</summary>
    internal static int AnalysisCount(GenerationOrder order)
    {
        if (!Analyses.TryGetValue(order, out var analyses))
            return 0;
        lock (analyses)
            return analyses.Count;
    }

    /// <summary>
    /// The plan of a mask computed from orders, for input <paramref name="x"/>; null when the per-image orders cannot be
    /// composed (masks of more than 64 taps), and the caller analyses the tensor instead.
    /// </summary>
    /// <param name="source">What the mask was computed from.</param>
    /// <param name="x">The input (N, C, H, W).</param>
    /// <param name="outChannels">Output channels of the layer.</param>
    /// <param name="policy">The planning policy.</param>
    public static MaskPlan? PlanFor(MaskSource source, Tensor x, int outChannels, PlanningPolicy policy)
    {
        var key = PlanKey.For(x, outChannels, policy);
        var costs = policy.CostsFor(x.device, x.dtype);
        var samples = new MaskAnalysis[source.Orders.Count];
        for (var n = 0; n < samples.Length; n++)
        {
            // Images of a batch usually share order objects: each is looked up once.
            samples[n] = n > 0 && ReferenceEquals(source.Orders[n], source.Orders[n - 1])
                ? samples[n - 1]
                : AnalysisOf(source.Orders[n], source.KernelSize, source.Dilation, source.Type);
        }

        MaskPlan Shared(MaskAnalysis mask) =>
            mask.PlanFor(key, m => MaskPlan.Create(m, (int)x.shape[1], x.dtype, x.device, costs, outChannels, x.shape[0]));

        // Images whose masks are all equal (also equal orders given as different objects) are one shared mask.
        if (samples.All(s => ReferenceEquals(s, samples[0]) || s.Values.AsSpan().SequenceEqual(samples[0].Values)))
            return Shared(samples[0]);
        var taps = samples[0].KernelSize * samples[0].KernelSize;
        var full = Enumerable.Range(0, taps).Where(t => samples.All(s => s.FullTaps.Contains(t))).ToArray();
        var dead = Enumerable.Range(0, taps).Where(t => samples.All(s => s.DeadTaps.Contains(t))).ToArray();
        var partial = Enumerable.Range(0, taps).Except(full).Except(dead).ToArray();
        // Without partial taps, every image's mask equals the first one's wherever a tap lands inside the image.
        if (partial.Length == 0)
            return Shared(samples[0]);
        if (!costs.GatheredColumns)
            return MaskPlan.ForGeneral(samples[0].KernelSize, samples[0].Dilation, costs, 0.0);
        if (samples.Any(s => s.TapPatterns is null))
            return null;

        lock (Composed)
        {
            var index = Composed.FindIndex(c => c.Key == key && c.Samples.AsSpan().SequenceEqual(samples));
            if (index >= 0)
            {
                var hit = Composed[index];
                Composed.RemoveAt(index);
                Composed.Insert(0, hit);
                return hit.Plan;
            }
        }

        var plan = Compose(samples, full, partial, dead, x, outChannels, costs);
        lock (Composed)
        {
            Composed.Insert(0, (samples, key, plan));
            if (Composed.Count > ComposedCapacity)
                Composed.RemoveAt(Composed.Count - 1);
        }

        return plan;
    }

    /// <summary>Gathered columns over the images' tap patterns, one image after the other, grouped for the layer's shape.</summary>
    private static MaskPlan Compose(MaskAnalysis[] samples, int[] full, int[] partial, int[] dead, Tensor x, int outChannels, PlanCosts costs)
    {
        var head = samples[0];
        var pixels = head.Height * head.Width;
        var forward = new ulong[samples.Length * pixels];
        var backward = new ulong[samples.Length * pixels];
        for (var n = 0; n < samples.Length; n++)
        {
            var (f, b) = samples[n].TapPatterns!.Value;
            f.CopyTo(forward, n * pixels);
            b.CopyTo(backward, n * pixels);
        }

        var shape = new LayerShape(x.shape[0], x.shape[1], outChannels, head.Height, head.Width, head.KernelSize, head.Dilation,
            Kernels.WideColumnsFunction.ElementSize(x.dtype));
        var layout = TapGroups.Create(forward, backward, samples.Length, head.Height, head.Width, head.KernelSize, head.Dilation,
            PathEstimates.GroupCost(costs, shape, samples.Length));
        return MaskPlan.ForGathered(layout, full, partial, dead, costs, PathEstimates.Gathered(costs, shape, layout));
    }
}
