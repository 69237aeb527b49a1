using LocallyMasked.Masks;
using LocallyMasked.Orders;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// What the planner reads from a mask, found once on the host: its values [b, t, p], which taps are full, partial or
/// dead inside the image, whether it is 0/1, and (for the gathered columns) the tap pattern of every unit. A mask
/// computed from an order is analysed from the order's byte array (<see cref="FromOrder"/>), never read back from the
/// device it runs on; a mask tensor given by a caller is copied to the host once (<see cref="FromTensor"/>). The plans
/// made from an analysis, one per layer shape, dtype, device and policy, are cached with it.
/// </summary>
/// <remarks>Immutable apart from its caches, which are safe to use from several threads.</remarks>
internal sealed class MaskAnalysis
{
    private readonly Dictionary<PlanKey, MaskPlan> _plans = new();
    private readonly Lazy<(ulong[] Forward, ulong[] Backward)?> _patterns;

    /// <summary>Analyses mask values [b, t, p] (flattened) of <paramref name="batch"/> masks.</summary>
    public MaskAnalysis(double[] values, int batch, int height, int width, int kernelSize, int dilation)
    {
        Values = values;
        Batch = batch;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
        Dilation = dilation;
        var (full, partial, dead) = (new List<int>(), new List<int>(), new List<int>());
        var (taps, pixels, half) = (kernelSize * kernelSize, height * width, kernelSize / 2);
        for (var t = 0; t < taps; t++)
        {
            var (di, dj) = ((t / kernelSize - half) * dilation, (t % kernelSize - half) * dilation);
            bool anyNonZero = false, anyNonOne = false;
            for (var b = 0; b < batch; b++)
            {
                for (var p = 0; p < pixels; p++)
                {
                    var (i, j) = (p / width + di, p % width + dj);
                    if (i < 0 || i >= height || j < 0 || j >= width)
                        continue;
                    var v = values[(b * taps + t) * pixels + p];
                    anyNonZero |= v != 0.0;
                    anyNonOne |= v != 1.0;
                }
            }

            (anyNonOne ? anyNonZero ? partial : dead : full).Add(t);
        }

        (FullTaps, PartialTaps, DeadTaps) = (full.ToArray(), partial.ToArray(), dead.ToArray());
        IsBinary = values.All(v => v is 0.0 or 1.0);
        _patterns = new(() => TapGroups.Patterns(values, batch, height, width, kernelSize, dilation));
    }

    /// <summary>Mask values [b, t, p] flattened.</summary>
    public double[] Values { get; }

    /// <summary>Number of masks: 1 for a shared mask.</summary>
    public int Batch { get; }

    public int Height { get; }

    public int Width { get; }

    public int KernelSize { get; }

    public int Dilation { get; }

    /// <summary>Taps equal to one wherever they land inside the image (in every mask).</summary>
    public int[] FullTaps { get; }

    /// <summary>Taps with both values, or values other than zero and one, inside the image.</summary>
    public int[] PartialTaps { get; }

    /// <summary>Taps equal to zero wherever they land inside the image (in every mask).</summary>
    public int[] DeadTaps { get; }

    /// <summary>Whether every value is 0 or 1.</summary>
    public bool IsBinary { get; }

    /// <summary>The units' tap patterns of the gathered columns (<see cref="TapGroups.Patterns"/>), built on first use;
    /// null when the mask is not 0/1 or has more than 64 taps.</summary>
    public (ulong[] Forward, ulong[] Backward)? TapPatterns => _patterns.Value;

    /// <summary>Number of plans made from this analysis (one per layer shape, dtype, device and policy).</summary>
    public int PlanCount
    {
        get
        {
            lock (_plans)
                return _plans.Count;
        }
    }

    /// <summary>The mask an order induces (<see cref="LocalMasks.CreateArray"/>), analysed on the host.</summary>
    public static MaskAnalysis FromOrder(GenerationOrder order, int kernelSize, int dilation, MaskType type)
    {
        var bytes = LocalMasks.CreateArray(order, kernelSize, dilation, type);
        var values = new double[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            values[i] = bytes[i];
        return new MaskAnalysis(values, 1, order.Height, order.Width, kernelSize, dilation);
    }

    /// <summary>A mask tensor (T, H*W) or (N, T, H*W), copied to the host once.</summary>
    public static MaskAnalysis FromTensor(Tensor mask, int height, int width, int kernelSize, int dilation)
    {
        double[] values;
        using (var scope = NewDisposeScope())
            values = mask.detach().to(ScalarType.Float64, CPU).contiguous().data<double>().ToArray();
        return new MaskAnalysis(values, mask.dim() == 3 ? (int)mask.shape[0] : 1, height, width, kernelSize, dilation);
    }

    /// <summary>The plan for a layer shape, made by <paramref name="create"/> on first use and cached.</summary>
    public MaskPlan PlanFor(PlanKey key, Func<MaskAnalysis, MaskPlan> create)
    {
        lock (_plans)
        {
            if (!_plans.TryGetValue(key, out var plan))
            {
                plan = create(this);
                _plans[key] = plan;
            }

            return plan;
        }
    }
}
