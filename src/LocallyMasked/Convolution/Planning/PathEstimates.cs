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
    /// Gathered columns: one pass per forward group (the output) and one per backward group (the output gradient's rows
    /// gathered once for both gradients, so two products), each a gather and products over the group's units and taps
    /// (<see cref="Group"/>); plus the padded channels-last copies of x and of the output gradient, the input rows of
    /// the weight gradient, and for the output and the input gradient the sorted rows written, gathered back into image
    /// order and transposed to channels first.
    /// </summary>
    public static double Gathered(PlanCosts costs, LayerShape shape, GatheredLayout layout)
    {
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var units = shape.Units;
        var padded = (double)shape.Batch * layout.PaddedLength;
        var groups = layout.Forward.Sum(g => Group(costs, shape, layout.MaskBatch, g.Units.Length, g.Taps.Length))
                     + layout.Backward.Sum(g => Group(costs, shape, layout.MaskBatch, g.Units.Length, g.Taps.Length, products: 2));
        var copies = padded * (c + o) + 2 * units * (c + o) + 4 * units * c + 7 * units * (c + o);
        return groups + costs.Memory(e * copies) + costs.Operations(20);
    }

    /// <summary>
    /// Estimated time of one pass over a gathered group of the given units (pixels when the mask is shared by the batch)
    /// and taps: its rows gathered, written and read, and its products (calls of at most a chunk); with one product,
    /// also the grouping's criterion.
    /// </summary>
    public static double Group(PlanCosts costs, LayerShape shape, int maskBatch, long units, int taps, int products = 1)
    {
        var rows = (maskBatch == 1 ? shape.Batch : 1) * (double)units;
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        // A group that sees no tap (such as the first pixel of a type-A mask) gathers nothing and multiplies nothing:
        // its rows are zeroed.
        if (taps == 0)
            return costs.Memory(rows * Math.Max(c, o) * e) + costs.Operations(products);
        var flops = 2 * rows * taps * c * o;
        var gathered = rows * Math.Max(1, taps) * Math.Max(c, o) * e;
        var chunks = Math.Max(1.0, Math.Ceiling(gathered / WideColumnsFunction.ChunkBytes));
        var depth = Math.Max(1, taps) * Math.Max(c, o);
        return products * costs.Product(flops, depth, flops / chunks) + costs.Memory(2 * gathered) + costs.Operations(3 + 2 * products * chunks);
    }

    /// <summary>The time estimate of a gathered group as the grouping's cost function (units, taps) for a layer shape.</summary>
    public static Func<long, int, double> GroupCost(PlanCosts costs, LayerShape shape, int maskBatch) =>
        (units, taps) => Group(costs, shape, maskBatch, units, taps);

    /// <summary>The general path: the whole unfolded input masked, one batched product, recomputed in backward.</summary>
    public static double General(PlanCosts costs, LayerShape shape)
    {
        var taps = shape.KernelSize * shape.KernelSize;
        var (c, o, e) = ((double)shape.InChannels, (double)shape.OutChannels, (double)shape.ElementSize);
        var columns = shape.Units * c * taps;
        return 3 * costs.Product(2 * columns * o, c * taps) + costs.Memory(e * (8 * columns + 4 * shape.Units * o)) + costs.Operations(12);
    }
}
