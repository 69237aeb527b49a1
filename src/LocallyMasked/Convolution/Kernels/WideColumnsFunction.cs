using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// Locally masked convolution restricted to a subset of taps, computed as masked im2col in the wide-row layout of
/// <see cref="WideColumnLayout"/> followed by matrix products, a few samples at a time. The backward recomputes the
/// masked columns from the saved input (nothing kernel-area sized is kept between forward and backward) and computes
/// the input gradient as a masked im2col of the output gradient, so that all three products reduce over a long axis
/// (C*S, O*S or the pixels) and write small outputs.
/// </summary>
/// <remarks>
/// <para>Arguments of <c>apply</c>: x (N, C, H, W), weight (O, C, S) for the layout's S taps, bias (O) or null, layout.</para>
/// <para>Samples are processed in chunks whose columns take about <see cref="ChunkBytes"/>: the columns then stay in the
/// CPU's last-level cache between being written and being multiplied, the allocator reuses the same block instead of
/// mapping (and the kernel zeroing) fresh pages for every large temporary, and the peak memory is far below one unfolded
/// input. Smaller chunks pay the fixed cost of a dozen operations per chunk more often (the chunk-size measurements are
/// in docs/benchmarks.md).
/// Within a chunk the batch is folded into the matrix columns (channels-first layout), so each product is one GEMM.</para>
/// </remarks>
internal sealed class WideColumnsFunction : LayoutConvolutionFunction<WideColumnsFunction, WideColumnLayout>
{
    /// <summary>Target size of one chunk of columns.</summary>
    internal const long ChunkBytes = 8L << 20;

    /// <summary>Name shown by the autograd engine.</summary>
    public override string Name => "LocallyMaskedConv2dWideColumns";

    /// <inheritdoc/>
    protected override Tensor Compute(Tensor x, Tensor weight, Tensor? bias, WideColumnLayout layout) => Forward(x, weight, bias, layout);

    /// <inheritdoc/>
    protected override Gradients ComputeGradients(Tensor gradOutput, Tensor x, Tensor weight, WideColumnLayout layout, bool needX, bool needWeight, bool needBias) =>
        Backward(gradOutput, x, weight, layout, needX, needWeight, needBias);

    /// <summary>Number of samples per chunk for a product over rows of the given height.</summary>
    internal static long ChunkSize(long batch, long rows, WideColumnLayout layout, ScalarType dtype)
    {
        var bytesPerSample = rows * layout.WideLength * ElementSize(dtype);
        return Math.Clamp(Math.Min(ChunkBytes / Math.Max(1, bytesPerSample), layout.MaxChunk ?? long.MaxValue), 1, batch);
    }

    internal static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, WideColumnLayout layout)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var output = torch.empty(new[] { n, outChannels, layout.Height, layout.Width }, x.dtype, x.device);
        using var flatWeight = weight.reshape(outChannels, -1);
        using var rowBias = bias?.view(1, outChannels);
        var chunk = ChunkSize(n, c * layout.Taps.Length, layout, x.dtype);
        for (long start = 0; start < n; start += chunk)
        {
            using var scope = NewDisposeScope();
            var count = Math.Min(chunk, n - start);
            var columns = Columns(x, layout, start, count);
            // Transposed, (count*L, C*S) @ (C*S, O): faster in libtorch's GEMM for these shapes (docs/benchmarks.md), and the
            // copy into the output is a strided copy either way.
            var product = rowBias is null ? torch.mm(columns.t(), flatWeight.t()) : torch.addmm(rowBias, columns.t(), flatWeight.t(), 1, 1);
            output.narrow(0, start, count).copy_(FromWideTransposed(product, layout, count));
        }

        return output;
    }

    internal static Gradients Backward(Tensor gradOutput, Tensor x, Tensor weight, WideColumnLayout layout, bool needX, bool needWeight, bool needBias)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var taps = layout.Taps.Length;
        Tensor? gradX = null, gradWeight = null, gradBias = null;
        if (needBias)
            gradBias = gradOutput.sum(new long[] { 0, 2, 3 });
        if (needWeight)
        {
            var flatGradient = torch.zeros(new[] { outChannels, c * taps }, x.dtype, x.device);
            var chunk = ChunkSize(n, c * taps, layout, x.dtype);
            for (long start = 0; start < n; start += chunk)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(chunk, n - start);
                // Recomputed here rather than saved in forward: the paper's memory-efficient design.
                var columns = Columns(x, layout, start, count);
                var g = layout.WideRows(gradOutput, start, count);
                flatGradient.addmm_(g, columns.t());
            }

            gradWeight = flatGradient.view(weight.shape);
        }

        if (needX)
        {
            gradX = torch.empty(x.shape, x.dtype, x.device);
            // A grid's shifted gradient has its taps reversed (see WideColumnLayout.Grid).
            using var ordered = layout.IsGrid ? weight.flip(2) : weight.alias();
            using var transposedWeight = ordered.permute(1, 0, 2).reshape(c, outChannels * taps);
            var chunk = ChunkSize(n, outChannels * taps, layout, x.dtype);
            for (long start = 0; start < n; start += chunk)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(chunk, n - start);
                var shifted = ShiftedGradient(gradOutput, layout, start, count);
                var product = torch.mm(shifted.t(), transposedWeight.t());
                gradX.narrow(0, start, count).copy_(FromWideTransposed(product, layout, count));
            }
        }

        return new Gradients(gradX, gradWeight, gradBias);
    }

    /// <summary>
    /// Masked columns of samples [start, start + count) as (C*S, count*WideLength): row (c, s) holds channel c read through
    /// tap s at every wide output position; one contiguous copy per tap, then one in-place masking pass.
    /// </summary>
    internal static Tensor Columns(Tensor x, WideColumnLayout layout, long start, long count) =>
        MaskedTapCopies(x, layout, backward: false, start, count);

    /// <summary>
    /// The output gradient of samples [start, start + count) shifted back through every tap and masked, as
    /// (O*S, count*WideLength): row (o, s) at wide input position u holds g[o, u - offset(s)] * mask[s, u - offset(s)].
    /// </summary>
    private static Tensor ShiftedGradient(Tensor gradOutput, WideColumnLayout layout, long start, long count) =>
        MaskedTapCopies(gradOutput, layout, backward: true, start, count);

    // Forward reads the input at each tap's offset, backward the output gradient at the mirrored offset; otherwise
    // the two are the same copy-then-mask pass.
    private static Tensor MaskedTapCopies(Tensor t, WideColumnLayout layout, bool backward, long start, long count)
    {
        var channels = t.shape[1];
        var taps = layout.Taps.Length;
        using var padded = layout.PadWide(t, start, count);
        if (layout.IsGrid)
            return MaskedGrid(padded, layout, backward, start, count);
        var copies = torch.empty(new[] { channels, taps, count, (long)layout.WideLength }, t.dtype, t.device);
        for (var s = 0; s < taps; s++)
        {
            var offset = backward ? layout.GradientStart(layout.Taps[s]) : layout.InputStart(layout.Taps[s]);
            using var target = copies.select(1, s);
            using var source = padded.narrow(2, offset, layout.WideLength);
            target.copy_(source);
        }

        using (var mask = layout.ChunkMask(backward, start, count))
            copies.mul_(mask);
        using (copies)
            return copies.view(channels * taps, count * layout.WideLength);
    }

    /// <summary>
    /// For taps forming a grid: the padded (K, count, Lx) tensor read through every tap as one strided view
    /// (K, rows, cols, count, L) times the mask, written in one pass as (K*S, count*L). Backward reads the grid in
    /// reversed order, starting at the last tap's gradient offset. The mask goes first and is materialised for the
    /// chunk, because the elementwise kernel lays its output out like the first operand that orders two dimensions;
    /// contiguous() is then a no-op.
    /// </summary>
    private static Tensor MaskedGrid(Tensor padded, WideColumnLayout layout, bool backward, long start, long count)
    {
        var grid = layout.Grid!.Value;
        var (d, wp, l) = ((long)layout.Dilation, (long)layout.WideWidth, (long)layout.WideLength);
        var (rows, lx) = (padded.shape[0], padded.shape[2]);
        var offset = backward ? layout.GradientStart(layout.Taps[^1]) : layout.InputStart(layout.Taps[0]);
        using var view = padded.as_strided(
            new[] { rows, grid.Rows, grid.Cols, count, l },
            new[] { count * lx, grid.RowStep * d * wp, grid.ColStep * d, lx, 1L },
            padded.storage_offset() + offset);
        using var chunkMask = layout.ChunkMask(backward, start, count);
        using var mask = chunkMask.view(1, grid.Rows, grid.Cols, count, l);
        using var product = mask * view;
        using var dense = product.contiguous();
        return dense.view(rows * layout.Taps.Length, count * l);
    }

    /// <summary>(count*WideLength, K) in wide layout to a (count, K, H, W) view without the extra columns.</summary>
    private static Tensor FromWideTransposed(Tensor product, WideColumnLayout layout, long count)
    {
        using var wide = product.view(count, layout.Height, layout.WideWidth, product.shape[1]);
        using var channelsSecond = wide.permute(0, 3, 1, 2);
        return channelsSecond.narrow(3, 0, layout.Width);
    }

    internal static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.ComplexFloat64 => 16,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => 4,
    };
}
