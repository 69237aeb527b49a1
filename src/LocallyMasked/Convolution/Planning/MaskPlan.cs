using LocallyMasked.Convolution.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// How one mask is computed, decided once from its values: the taps that are one wherever they land inside the image
/// ("full") can go through a dense convolution over their bounding box, because taps landing on the zero padding never
/// contribute whatever the mask says there; taps that are zero wherever they land inside the image are dropped; the
/// remaining ("partial") taps, and any full taps left out of the box, go through the masked-columns product.
/// </summary>
/// <remarks>Immutable; its tensors live outside any dispose scope and are shared by every call with the same mask.</remarks>
internal sealed class MaskPlan
{
    private MaskPlan(int kernelSize, int dilation, int[] fullTaps, int[] partialTaps, int[] deadTaps, (int Row0, int Row1, int Col0, int Col1)? box, WideColumnLayout? columns, Tensor? boxMask, PeriodicPattern? periodic = null)
    {
        Periodic = periodic;
        KernelSize = kernelSize;
        Dilation = dilation;
        FullTaps = fullTaps;
        PartialTaps = partialTaps;
        DeadTaps = deadTaps;
        Box = box;
        Columns = columns;
        BoxMask = boxMask;
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

    /// <summary>A short description for benchmarks and diagnostics.</summary>
    public override string ToString()
    {
        if (Periodic is not null)
            return Periodic.ToString();
        var box = Box is { } b ? $"conv {b.Row1 - b.Row0 + 1}x{b.Col1 - b.Col0 + 1}" : "no conv";
        var columns = Columns is null ? "no columns" : $"columns {Columns.Taps.Length} taps";
        return $"{box} + {columns} (full {FullTaps.Length}, partial {PartialTaps.Length}, dead {DeadTaps.Length})";
    }

    /// <summary>
    /// Analyses a mask (T, H*W) or (N, T, H*W), copied to the CPU once, and prepares what the chosen computation needs
    /// on the given device and dtype.
    /// </summary>
    /// <param name="mask">Mask (T, H*W) or (N, T, H*W).</param>
    /// <param name="height">Image height H.</param>
    /// <param name="width">Image width W.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="inChannels">Input channels of the layer (the cost model depends on it).</param>
    /// <param name="dtype">dtype of the tensors the plan keeps.</param>
    /// <param name="device">Device of the tensors the plan keeps.</param>
    /// <param name="boxOverride">For tests: given the full taps, the box to use (null: no dense convolution) instead of the cheapest.</param>
    /// <param name="maxChunk">For tests: the most samples per chunk of the masked-columns product.</param>
    /// <param name="periodic">For tests: true to use a periodic pattern whenever the mask has one, false never; null: when cheapest.</param>
    /// <param name="costs">The cost model; the device's table (<see cref="PlanCosts.For"/>) when null.</param>
    public static MaskPlan Create(Tensor mask, int height, int width, int kernelSize, int dilation, int inChannels, ScalarType dtype, Device device,
        Func<IReadOnlyList<int>, (int Row0, int Row1, int Col0, int Col1)?>? boxOverride = null, long? maxChunk = null, bool? periodic = null,
        PlanCosts? costs = null)
    {
        double[] values;
        using (var scope = NewDisposeScope())
            values = mask.detach().to(ScalarType.Float64, CPU).contiguous().data<double>().ToArray();
        var batch = mask.dim() == 3 ? (int)mask.shape[0] : 1;
        var taps = kernelSize * kernelSize;
        var pixels = height * width;
        var half = kernelSize / 2;
        var full = new List<int>();
        var partial = new List<int>();
        var dead = new List<int>();
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

        costs ??= PlanCosts.For(device);
        var (cheapestBox, boxCost) = ChooseBox(kernelSize, full, partial, inChannels, costs);
        if (periodic != false && partial.Count > 0)
        {
            var pattern = PeriodicPattern.Find(values, batch, height, width, kernelSize, dilation, dtype, device);
            if (pattern is not null && (periodic == true || pattern.Cost(costs) < boxCost))
                return new MaskPlan(kernelSize, dilation, full.ToArray(), partial.ToArray(), dead.ToArray(), null, null, null, pattern);
        }

        var box = boxOverride is null ? cheapestBox : boxOverride(full);
        var columnTaps = Enumerable.Range(0, taps)
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
            : WideColumnLayout.Create(values, batch, height, width, kernelSize, dilation, columnTaps, dtype, device, maxChunk);
        return new MaskPlan(kernelSize, dilation, full.ToArray(), partial.ToArray(), dead.ToArray(), box, layout, boxMask);
    }

    private static bool InBox(int tap, int kernelSize, (int Row0, int Row1, int Col0, int Col1) box)
    {
        var (r, c) = (tap / kernelSize, tap % kernelSize);
        return r >= box.Row0 && r <= box.Row1 && c >= box.Col0 && c <= box.Col1;
    }

    /// <summary>
    /// The bounding box (of some of the full taps) minimising the estimated cost: box area dense taps, plus the
    /// partial taps and the full taps outside the box as column taps; null when columns alone are cheapest. Also the cost.
    /// </summary>
    private static ((int Row0, int Row1, int Col0, int Col1)? Box, double Cost) ChooseBox(int kernelSize, List<int> full, List<int> partial, int inChannels, PlanCosts costs)
    {
        double Cost(int[] columnTaps, int area, bool needsFixed)
            => (area == 0 ? 0 : costs.Dense(area)) + (needsFixed ? costs.ConvolutionFixed : 0)
               + (columnTaps.Length == 0 ? 0 : costs.ColumnFixed
                  + costs.ColumnTap(inChannels, WideColumnLayout.FindGrid(columnTaps, kernelSize) is not null) * columnTaps.Length);

        (int Row0, int Row1, int Col0, int Col1)? best = null;
        var bestCost = Cost(full.Concat(partial).Order().ToArray(), 0, false);
        for (var r0 = 0; r0 < kernelSize; r0++)
        for (var r1 = r0; r1 < kernelSize; r1++)
        for (var c0 = 0; c0 < kernelSize; c0++)
        for (var c1 = c0; c1 < kernelSize; c1++)
        {
            var box = (r0, r1, c0, c1);
            if (!full.Any(t => InBox(t, kernelSize, box)))
                continue;
            var symmetric = r0 + r1 == kernelSize - 1 && c0 + c1 == kernelSize - 1;
            var columnTaps = full.Where(t => !InBox(t, kernelSize, box)).Concat(partial).Order().ToArray();
            var cost = Cost(columnTaps, (r1 - r0 + 1) * (c1 - c0 + 1), columnTaps.Length > 0 || !symmetric);
            if (cost < bestCost - 1e-9)
            {
                bestCost = cost;
                best = box;
            }
        }

        return (best, bestCost);
    }
}
