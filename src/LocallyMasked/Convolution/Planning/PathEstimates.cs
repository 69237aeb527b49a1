using LocallyMasked.Convolution.Kernels;

namespace LocallyMasked.Convolution.Planning;

/// <summary>The shape of a layer call a plan is made for.</summary>
/// <param name="Batch">Batch size N.</param>
/// <param name="InChannels">Input channels C.</param>
/// <param name="OutChannels">Output channels O.</param>
/// <param name="Height">Image height H.</param>
/// <param name="Width">Image width W.</param>
/// <param name="KernelSize">Kernel size k.</param>
/// <param name="Dilation">Dilation.</param>
/// <param name="ElementSize">Bytes per element.</param>
internal readonly record struct LayerShape(long Batch, long InChannels, long OutChannels, int Height, int Width, int KernelSize, int Dilation, long ElementSize)
{
    /// <summary>Output units N * H * W.</summary>
    public double Units => (double)Batch * Height * Width;
}

/// <summary>
/// Forward + backward time estimates of each path from the rates of <see cref="PlanCosts"/>: the arithmetic of its
/// three products (output, input gradient, weight gradient), the bytes its copies, gathers and masking passes move,
/// and its number of operations. They follow what the kernels do; only their ordering matters.
/// </summary>
internal static class PathEstimates
{
    /// <summary>A dense convolution over a box of the kernel, cropped (and added to columns) when not centred.</summary>
    public static double Dense(PlanCosts costs, LayerShape shape, (int Row0, int Row1, int Col0, int Col1) box, int kernelSize, bool added)
    {
        var area = (box.Row1 - box.Row0 + 1) * (box.Col1 - box.Col0 + 1);
        var centred = box.Row0 + box.Row1 == kernelSize - 1 && box.Col0 + box.Col1 == kernelSize - 1;
        var output = shape.Units * shape.OutChannels * shape.ElementSize;
        var extra = (centred ? 0 : 2) + (added ? 3 : 0);
        return costs.Convolution(shape.Units, shape.InChannels, shape.OutChannels, area) + costs.Memory(extra * output) + costs.Operations(extra);
    }

    /// <summary>
    /// One strided convolution per class over its share of the pixels, each written into its rows of the output (and its
    /// gradient read back from them), the input gradients of the classes summed.
    /// </summary>
    public static double Periodic(PlanCosts costs, LayerShape shape, PeriodicPattern pattern)
    {
        var share = shape.Units / (pattern.RowPeriod * pattern.ColPeriod);
        var input = shape.Units * shape.InChannels * shape.ElementSize;
        var perClass = pattern.Classes.Sum(c =>
            costs.Convolution(share, shape.InChannels, shape.OutChannels, c.Area, strided: true) + costs.Memory(4 * share * shape.OutChannels * shape.ElementSize + input)
            + costs.Operations(6));
        return perClass + costs.Memory(2 * (pattern.Classes.Count - 1) * input) + costs.Operations(pattern.Classes.Count + 2);
    }

    /// <summary>
    /// Masked columns in the wide-row layout: three products over H * (W + pad) positions per sample; the columns written
    /// and read twice (forward and weight gradient) and the shifted gradient once, each as a copy per tap and a masking
    /// pass unless the taps form a grid (one pass); the padded copies, masks and output copies; a dozen operations per
    /// chunk and product.
    /// </summary>
    public static double Wide(PlanCosts costs, LayerShape shape, int taps, bool grid)
    {
        var pad = shape.Dilation * (shape.KernelSize - 1) / 2;
        var positions = (double)shape.Batch * shape.Height * (shape.Width + pad);
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var flops = 2 * positions * c * o * taps;
        var passes = grid ? 2 : 4;
        var bytes = e * (positions * taps * (2 * passes * c + passes * o + 3)
                         + 2 * positions * (2 * c + o) + 2 * shape.Units * (c + o) + 2 * positions * o);
        var chunks = Math.Ceiling(positions * Math.Max(c, o) * taps * e / WideColumnsFunction.ChunkBytes);
        return costs.Product(flops, c * taps) + costs.Product(flops, positions / chunks) + costs.Product(flops, o * taps)
               + costs.Memory(bytes) + costs.Operations(18 * chunks + 6);
    }

    /// <summary>
    /// Gathered columns: three products over each group's units and taps; the gathered rows written and read twice
    /// (forward and weight gradient) and the gathered gradient once; padded channels-last copies, row copies and the
    /// final layout changes; about four operations per group, chunk and product.
    /// </summary>
    public static double Gathered(PlanCosts costs, LayerShape shape, GatheredLayout layout)
    {
        var copies = layout.MaskBatch == 1 ? shape.Batch : 1;
        double forward = copies * layout.Forward.Sum(g => (double)g.Units.Length * g.Taps.Length);
        double backward = copies * layout.Backward.Sum(g => (double)g.Units.Length * g.Taps.Length);
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var units = shape.Units;
        var padded = (double)shape.Batch * layout.PaddedLength;
        var depthForward = c * forward / units;
        var depthBackward = o * backward / units;
        var bytes = e * (4 * forward * c + 2 * backward * o + 2 * units * o + 4 * units * (c + o) + padded * (4 * c + 2 * o));
        var chunks = Math.Ceiling(forward * Math.Max(c, o) * e / WideColumnsFunction.ChunkBytes);
        var groups = layout.Forward.Count + layout.Backward.Count;
        return costs.Product(2 * forward * c * o, depthForward) + costs.Product(2 * forward * c * o, units / Math.Max(1, layout.Forward.Count))
               + costs.Product(2 * backward * c * o, depthBackward)
               + costs.Memory(bytes) + costs.Operations(6 * groups + 10 * chunks + 12);
    }

    /// <summary>
    /// The fixed cost of one group of the gathered path (its operations) in unit taps, the grouping's exchange rate:
    /// what one unit (a pixel, in every sample of the batch when the mask is shared) computing one more tap costs.
    /// </summary>
    public static double GroupCostInUnitTaps(PlanCosts costs, LayerShape shape, int maskBatch)
    {
        var copies = maskBatch == 1 ? shape.Batch : 1;
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var unitTap = copies * (costs.Product(6 * c * o, 5 * c) + costs.Memory(e * (4 * c + 2 * o)));
        return costs.Operations(12) / unitTap;
    }

    /// <summary>The general path: the whole unfolded input masked, one batched product, recomputed in backward.</summary>
    public static double General(PlanCosts costs, LayerShape shape)
    {
        var taps = shape.KernelSize * shape.KernelSize;
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var columns = shape.Units * c * taps;
        return 3 * costs.Product(2 * columns * o, c * taps) + costs.Memory(e * (8 * columns + 4 * shape.Units * o)) + costs.Operations(12);
    }
}
