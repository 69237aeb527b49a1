using LocallyMasked.Convolution.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// How one mask is computed, decided once from its values and the layer's shape: the taps that are one wherever they
/// land inside the image ("full") can go through a dense convolution over their bounding box, because taps landing on
/// the zero padding never contribute whatever the mask says there; taps that are zero wherever they land inside the
/// image are dropped; the remaining ("partial") taps, and any full taps left out of the box, go through masked columns.
/// Alternatively a mask that repeats with a small period is a few strided convolutions (<see cref="PeriodicPattern"/>), and
/// a 0/1 mask can be computed by gathered columns, one product per group of pixels that share a tap set
/// (<see cref="GatheredLayout"/>). The path with the lowest estimated time (<see cref="PlanCosts"/>) is chosen.
/// </summary>
/// <remarks>Immutable; its tensors live outside any dispose scope and are shared by every call with the same mask.</remarks>
internal sealed class MaskPlan
{
    private MaskPlan(int kernelSize, int dilation, int[] fullTaps, int[] partialTaps, int[] deadTaps, (int Row0, int Row1, int Col0, int Col1)? box,
        WideColumnLayout? columns, Tensor? boxMask, PlanCosts costs, double estimate, PeriodicPattern? periodic = null, GatheredLayout? gathered = null,
        bool general = false)
    {
        Periodic = periodic;
        Gathered = gathered;
        General = general;
        KernelSize = kernelSize;
        Dilation = dilation;
        FullTaps = fullTaps;
        PartialTaps = partialTaps;
        DeadTaps = deadTaps;
        Box = box;
        Columns = columns;
        BoxMask = boxMask;
        Costs = costs;
        Estimate = estimate;
    }

    public int KernelSize { get; }

    public int Dilation { get; }

    /// <summary>Taps equal to one wherever they land inside the image (for every sample).</summary>
    public int[] FullTaps { get; }

    /// <summary>Taps with both values, or values other than zero and one, inside the image.</summary>
    public int[] PartialTaps { get; }

    /// <summary>Taps equal to zero wherever they land inside the image.</summary>
    public int[] DeadTaps { get; }

    /// <summary>Kernel rows and columns (inclusive) of the dense convolution, or null when there is none.</summary>
    public (int Row0, int Row1, int Col0, int Col1)? Box { get; }

    /// <summary>(rows, cols) 0/1 mask of the box: the full taps inside it.</summary>
    public Tensor? BoxMask { get; }

    /// <summary>Layout of the taps computed by masked columns, or null when there are none.</summary>
    public WideColumnLayout? Columns { get; }

    /// <summary>When set, the whole convolution is this periodic pattern's strided convolutions (Box and Columns are null).</summary>
    public PeriodicPattern? Periodic { get; }

    /// <summary>When set, the whole convolution is these gathered columns (Box and Columns are null).</summary>
    public GatheredLayout? Gathered { get; }

    /// <summary>When true, the whole convolution is the general path (devices without the columns paths).</summary>
    public bool General { get; }

    /// <summary>The cost model the plan was chosen with.</summary>
    public PlanCosts Costs { get; }

    /// <summary>The estimated forward + backward seconds of the chosen path (0 when a test forced it).</summary>
    public double Estimate { get; }

    /// <summary>A short description for benchmarks and diagnostics.</summary>
    public override string ToString()
    {
        if (Periodic is not null)
            return Periodic.ToString();
        if (Gathered is not null)
            return FormattableString.Invariant($"gathered {Gathered.Forward.Count} groups, {Gathered.TapsPerUnit:F1} taps/pixel");
        if (General)
            return "general";
        var box = Box is { } b ? $"conv {b.Row1 - b.Row0 + 1}x{b.Col1 - b.Col0 + 1}" : "no conv";
        var columns = Columns is null ? "no columns" : $"columns {Columns.Taps.Length} taps";
        return $"{box} + {columns} (full {FullTaps.Length}, partial {PartialTaps.Length}, dead {DeadTaps.Length})";
    }

    /// <summary>The plan of a mask tensor (T, H*W) or (N, T, H*W), copied to the CPU once (see the analysis overload).</summary>
    /// <param name="mask">Mask (T, H*W) or (N, T, H*W).</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="inChannels">Input channels of the layer.</param>
    /// <param name="dtype">dtype of the tensors the plan keeps.</param>
    /// <param name="device">Device of the tensors the plan keeps.</param>
    /// <param name="boxOverride">For tests: given the full taps, the box to use (null: no dense convolution) with masked
    /// columns for the rest, instead of the fastest plan.</param>
    /// <param name="maxChunk">For tests: the most samples per chunk of the masked-columns product (units for gathered columns).</param>
    /// <param name="periodic">For tests: true to use a periodic pattern whenever the mask has one, false never; null: when fastest.</param>
    /// <param name="costs">The cost model; <see cref="PlanningPolicy.Deterministic"/>'s when null.</param>
    /// <param name="gathered">For tests: true to use gathered columns whenever the mask is 0/1, false never; null: when fastest.</param>
    /// <param name="outChannels">Output channels of the layer; <paramref name="inChannels"/> when null.</param>
    /// <param name="batch">Batch size the plan is for; the mask's batch (1 when shared) when null.</param>
    public static MaskPlan Create(Tensor mask, int height, int width, int kernelSize, int dilation, int inChannels, ScalarType dtype, Device device,
        Func<IReadOnlyList<int>, (int Row0, int Row1, int Col0, int Col1)?>? boxOverride = null, long? maxChunk = null, bool? periodic = null,
        PlanCosts? costs = null, bool? gathered = null, int? outChannels = null, long? batch = null) =>
        Create(MaskAnalysis.FromTensor(mask, height, width, kernelSize, dilation), inChannels, dtype, device,
            costs ?? PlanningPolicy.Deterministic.CostsFor(device, dtype), outChannels, batch, boxOverride, maxChunk, periodic, gathered);

    /// <summary>
    /// Estimates the forward + backward time of every path that can compute an analysed mask for the layer's shape
    /// (<see cref="PlanCosts"/>), and prepares the fastest on the given device and dtype.
    /// </summary>
    /// <param name="mask">The mask's analysis.</param>
    /// <param name="inChannels">Input channels of the layer.</param>
    /// <param name="dtype">dtype of the tensors the plan keeps.</param>
    /// <param name="device">Device of the tensors the plan keeps.</param>
    /// <param name="costs">The cost model.</param>
    /// <param name="outChannels">Output channels of the layer; <paramref name="inChannels"/> when null.</param>
    /// <param name="batch">Batch size the plan is for; the mask's batch when null.</param>
    /// <param name="boxOverride">For tests: see the tensor overload.</param>
    /// <param name="maxChunk">For tests: see the tensor overload.</param>
    /// <param name="periodic">For tests: see the tensor overload.</param>
    /// <param name="gathered">For tests: see the tensor overload.</param>
    public static MaskPlan Create(MaskAnalysis mask, int inChannels, ScalarType dtype, Device device, PlanCosts costs, int? outChannels = null,
        long? batch = null, Func<IReadOnlyList<int>, (int Row0, int Row1, int Col0, int Col1)?>? boxOverride = null, long? maxChunk = null,
        bool? periodic = null, bool? gathered = null)
    {
        var (values, maskBatch, height, width) = (mask.Values, mask.Batch, mask.Height, mask.Width);
        var (kernelSize, dilation) = (mask.KernelSize, mask.Dilation);
        var (full, partial) = (mask.FullTaps.ToList(), mask.PartialTaps);
        var shape = new LayerShape(batch ?? maskBatch, inChannels, outChannels ?? inChannels, height, width, kernelSize, dilation,
            Kernels.WideColumnsFunction.ElementSize(dtype));
        var (fullArray, partialArray, deadArray) = (mask.FullTaps, mask.PartialTaps, mask.DeadTaps);
        var candidates = new List<(double Estimate, Func<MaskPlan> Build)>();

        if (periodic != false && partial.Length > 0)
        {
            var pattern = PeriodicPattern.Find(values, maskBatch, height, width, kernelSize, dilation, dtype, device);
            if (pattern is not null)
            {
                var estimate = PathEstimates.Periodic(costs, shape, pattern);
                var plan = () => new MaskPlan(kernelSize, dilation, fullArray, partialArray, deadArray, null, null, null, costs, estimate, periodic: pattern);
                if (periodic == true)
                    return plan();
                candidates.Add((estimate, plan));
            }
        }

        GatheredLayout? gatheredLayout = null;
        if (gathered != false && boxOverride is null && partial.Length > 0 && (gathered == true || costs.GatheredColumns)
            && mask.TapPatterns is { } patterns)
        {
            var layout = gatheredLayout = TapGroups.Create(patterns.Forward, patterns.Backward, maskBatch, height, width, kernelSize, dilation,
                PathEstimates.GroupCost(costs, shape, maskBatch), maxChunk);
            var estimate = PathEstimates.Gathered(costs, shape, layout);
            var plan = () => new MaskPlan(kernelSize, dilation, fullArray, partialArray, deadArray, null, null, null, costs, estimate, gathered: layout);
            if (gathered == true)
                return plan();
            candidates.Add((estimate, plan));
        }

        if (boxOverride is null && !costs.WideColumns && partial.Length > 0)
        {
            // The general path computes the whole mask (the only columns path such a device allows).
            var estimate = PathEstimates.General(costs, shape);
            candidates.Add((estimate, () => new MaskPlan(kernelSize, dilation, fullArray, partialArray, deadArray, null, null, null, costs, estimate, general: true)));
        }
        else if (boxOverride is not null || gatheredLayout is null)
        {
            // Wide columns only where gathered columns cannot go (values other than 0 and 1, more than 64 taps): the
            // gathered path was faster for every 0/1 mask measured (docs/benchmarks.md, "LMConv layer").
            // A 0/1 mask without partial taps (raster, all ones) is one dense convolution over the full taps' bounding
            // box (its other taps are dead, zero in the box's mask); splitting it into a smaller box plus wide columns
            // measured slower.
            var denseOnly = boxOverride is null && partial.Length == 0 && full.Count > 0 && mask.IsBinary;
            var (cheapestBox, boxEstimate) = denseOnly ? BoundingBox(shape, full, costs) : ChooseBox(shape, full, partial.ToList(), costs);
            var box = boxOverride is null ? cheapestBox : boxOverride(full);
            candidates.Add((boxOverride is null ? boxEstimate : 0.0, () => BoxAndColumns(values, maskBatch, shape, fullArray, partialArray, deadArray, box, dtype, device, maxChunk, costs, boxEstimate)));
        }

        return candidates.MinBy(c => c.Estimate).Build();
    }

    /// <summary>The plan of a batch whose samples' masks are computed by the given gathered columns (see <see cref="OrderPlans"/>).</summary>
    /// <param name="layout">Gathered columns with one mask per sample.</param>
    /// <param name="full">Taps full in every sample's mask.</param>
    /// <param name="partial">Taps neither full nor dead in every sample's mask.</param>
    /// <param name="dead">Taps dead in every sample's mask.</param>
    /// <param name="costs">The cost model the layout was grouped with.</param>
    /// <param name="estimate">The layout's estimated forward + backward time.</param>
    internal static MaskPlan ForGathered(GatheredLayout layout, int[] full, int[] partial, int[] dead, PlanCosts costs, double estimate) =>
        new(layout.KernelSize, layout.Dilation, full, partial, dead, null, null, null, costs, estimate, gathered: layout);

    /// <summary>A plan for the general path (the whole convolution as masked im2col, with the call's mask).</summary>
    internal static MaskPlan ForGeneral(int kernelSize, int dilation, PlanCosts costs, double estimate) =>
        new(kernelSize, dilation, Array.Empty<int>(), Array.Empty<int>(), Array.Empty<int>(), null, null, null, costs, estimate, general: true);

    private static MaskPlan BoxAndColumns(double[] values, int maskBatch, LayerShape shape, int[] full, int[] partial, int[] dead,
        (int Row0, int Row1, int Col0, int Col1)? box, ScalarType dtype, Device device, long? maxChunk, PlanCosts costs, double estimate)
    {
        var (kernelSize, dilation) = (shape.KernelSize, shape.Dilation);
        var columnTaps = Enumerable.Range(0, kernelSize * kernelSize)
            .Where(t => partial.Contains(t) || (full.Contains(t) && !(box is { } b && InBox(t, kernelSize, b))))
            .ToArray();

        Tensor? boxMask = null;
        if (box is { } chosen)
        {
            var (rows, cols) = (chosen.Row1 - chosen.Row0 + 1, chosen.Col1 - chosen.Col0 + 1);
            var kernel = new double[rows * cols];
            foreach (var t in full.Where(t => InBox(t, kernelSize, chosen)))
                kernel[(t / kernelSize - chosen.Row0) * cols + t % kernelSize - chosen.Col0] = 1.0;
            using var scope = NewDisposeScope();
            boxMask = tensor(kernel, new long[] { rows, cols }, ScalarType.Float64).to(dtype, device).DetachFromDisposeScope();
        }

        var layout = columnTaps.Length == 0
            ? null
            : WideColumnLayout.Create(values, maskBatch, shape.Height, shape.Width, kernelSize, dilation, columnTaps, dtype, device, maxChunk);
        return new MaskPlan(kernelSize, dilation, full, partial, dead, box, layout, boxMask, costs, estimate);
    }

    /// <summary>The bounding box of the full taps and its estimate as one dense convolution.</summary>
    private static ((int Row0, int Row1, int Col0, int Col1)? Box, double Cost) BoundingBox(LayerShape shape, List<int> full, PlanCosts costs)
    {
        var k = shape.KernelSize;
        var box = (full.Min(t => t / k), full.Max(t => t / k), full.Min(t => t % k), full.Max(t => t % k));
        return (box, PathEstimates.Dense(costs, shape, box, k, added: false));
    }

    private static bool InBox(int tap, int kernelSize, (int Row0, int Row1, int Col0, int Col1) box)
    {
        var (r, c) = (tap / kernelSize, tap % kernelSize);
        return r >= box.Row0 && r <= box.Row1 && c >= box.Col0 && c <= box.Col1;
    }

    /// <summary>
    /// The bounding box (of some of the full taps) minimising the estimated time: a dense convolution over the box, plus
    /// the partial taps and the full taps outside the box as wide columns; null when columns alone are fastest. Also the estimate.
    /// </summary>
    private static ((int Row0, int Row1, int Col0, int Col1)? Box, double Cost) ChooseBox(LayerShape shape, List<int> full, List<int> partial, PlanCosts costs)
    {
        var kernelSize = shape.KernelSize;
        double Cost(int[] columnTaps, (int Row0, int Row1, int Col0, int Col1)? box)
            => (box is { } b ? PathEstimates.Dense(costs, shape, b, kernelSize, columnTaps.Length > 0) : 0.0)
               + (columnTaps.Length == 0 ? 0.0 : PathEstimates.Wide(costs, shape, columnTaps.Length, WideColumnLayout.FindGrid(columnTaps, kernelSize) is not null));

        (int Row0, int Row1, int Col0, int Col1)? best = null;
        var bestCost = Cost(full.Concat(partial).Order().ToArray(), null);
        for (var r0 = 0; r0 < kernelSize; r0++)
        for (var r1 = r0; r1 < kernelSize; r1++)
        for (var c0 = 0; c0 < kernelSize; c0++)
        for (var c1 = c0; c1 < kernelSize; c1++)
        {
            var box = (r0, r1, c0, c1);
            if (!full.Any(t => InBox(t, kernelSize, box)))
                continue;
            var columnTaps = full.Where(t => !InBox(t, kernelSize, box)).Concat(partial).Order().ToArray();
            var cost = Cost(columnTaps, box);
            if (cost < bestCost * (1 - 1e-9))
            {
                bestCost = cost;
                best = box;
            }
        }

        return (best, bestCost);
    }
}
