using LocallyMasked.Layers;

namespace LocallyMasked.Sampling;

/// <summary>
/// Where the CPU evaluator puts a step's results, decided once from the wiring's trace: a concat_elu read only by
/// convolutions is not computed on its own but written by each of them straight into its cache rows; every other result
/// goes where the <see cref="BufferPlan"/> says (convolutions and the output head make new tensors, their products';
/// dropout and an identity normalization pass their input on; the others write into reused buffers or over their first
/// input when nothing reads it later).
/// </summary>
internal sealed class CpuLayout
{
    private CpuLayout(BufferPlan plan, int[] fused, bool[] deferred)
    {
        Plan = plan;
        Fused = fused;
        Deferred = deferred;
    }

    /// <summary>Where each result is written.</summary>
    public BufferPlan Plan { get; }

    /// <summary>Per call: for a convolution, the concat_elu call whose value it writes into its cache; otherwise -1.</summary>
    public IReadOnlyList<int> Fused { get; }

    /// <summary>Per call: whether it is a concat_elu computed by the convolutions that read it.</summary>
    public IReadOnlyList<bool> Deferred { get; }

    /// <summary>Lays out the calls of a trace.</summary>
    /// <param name="trace">The wiring's hook calls.</param>
    public static CpuLayout Of(WiringTrace trace)
    {
        var calls = trace.Calls;
        var fused = Enumerable.Repeat(-1, calls.Count).ToArray();
        var deferred = new bool[calls.Count];
        // Who reads each value, looking through dropouts (identities here).
        int Origin(int k) => k >= 0 && calls[k].Kind == HookKind.Dropout ? Origin(calls[k].Inputs[0]) : k;
        var readers = Enumerable.Range(0, calls.Count).Where(k => calls[k].Kind != HookKind.Dropout)
            .SelectMany(k => calls[k].Inputs.Select((input, position) => (Reader: k, Position: position, Origin: Origin(input))))
            .ToLookup(r => r.Origin);
        for (int k = 0; k < calls.Count; k++)
        {
            if (calls[k].Kind != HookKind.ConcatElu || !readers[k].Any()) continue;
            if (!readers[k].All(r => calls[r.Reader].Kind == HookKind.Convolve && r.Position == 0)) continue;
            deferred[k] = true;
            foreach (var r in readers[k]) fused[r.Reader] = k;
        }

        var plan = BufferPlan.Of(trace, k => calls[k].Kind switch
        {
            HookKind.Convolve or HookKind.Output => Placement.Elsewhere,
            HookKind.ConcatElu => deferred[k] ? Placement.Deferred : Placement.Buffer,
            HookKind.Dropout => Placement.Alias,
            HookKind.Normalize => Normalizes(calls[k].Normalization) ? Placement.BufferOrInPlace : Placement.Alias,
            _ => Placement.BufferOrInPlace,
        }, k => fused[k] >= 0 ? new[] { fused[k] } : Array.Empty<int>());
        return new CpuLayout(plan, fused, deferred);
    }

    /// <summary>Whether a normalization scheme changes the features (the others are identities).</summary>
    public static bool Normalizes(FeatureNormalization normalization) =>
        normalization is FeatureNormalization.Pono or FeatureNormalization.OrderRescale;
}
