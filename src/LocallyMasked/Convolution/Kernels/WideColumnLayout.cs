using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// Geometry and masks of the "wide row" im2col used by <see cref="WideColumnsFunction"/>, for a subset of the kernel taps.
/// </summary>
/// <remarks>
/// Rows are laid out with <c>pad = dilation * (k - 1) / 2</c> extra zero columns (width <c>Wp = W + pad</c>), which serve as
/// the right padding of one row and the left padding of the next. In that layout every tap of every output pixel reads
/// the padded input at a constant offset, so the columns of one tap are one contiguous slice of the flattened padded
/// input (fast copies instead of short strided runs), and the same holds for the transposed product in backward.
/// The extra output columns are computed and dropped; their masks are zero.
/// Instances are immutable and cached per mask; their tensors live outside any dispose scope.
/// </remarks>
internal sealed class WideColumnLayout
{
    private WideColumnLayout(int height, int width, int kernelSize, int dilation, int[] taps, Tensor forwardMask, Tensor backwardMask, long? maxChunk)
    {
        MaxChunk = maxChunk;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
        Dilation = dilation;
        Taps = taps;
        ForwardMask = forwardMask;
        BackwardMask = backwardMask;
    }

    /// <summary>For tests: the most samples per chunk (null: chosen from the chunk size in bytes).</summary>
    public long? MaxChunk { get; }

    public int Height { get; }

    public int Width { get; }

    public int KernelSize { get; }

    public int Dilation { get; }

    /// <summary>The taps t = ki * k + kj computed, in this order.</summary>
    public int[] Taps { get; }

    /// <summary>
    /// The taps as a regular grid, rows Row0 + a * RowStep (a &lt; Rows) by columns Col0 + b * ColStep (b &lt; Cols) in
    /// row-major order, or null when they are not one (such as all k*k taps, or a row of taps). Then the columns of all
    /// taps are one strided view of the padded input (tap (ki, kj) at offset ki * d * Wp + kj * d), written by a single
    /// masking pass instead of a copy per tap plus a masking pass; the shifted gradient likewise, with the taps reversed
    /// (offset -ki * d * Wp - kj * d grows along the reversed grid).
    /// </summary>
    public (int Row0, int RowStep, int Rows, int Col0, int ColStep, int Cols)? Grid => FindGrid(Taps, KernelSize);

    /// <summary>Whether the taps form a <see cref="Grid"/>.</summary>
    public bool IsGrid => Grid is not null;

    internal static (int Row0, int RowStep, int Rows, int Col0, int ColStep, int Cols)? FindGrid(int[] taps, int kernelSize)
    {
        var rows = taps.Select(t => t / kernelSize).Distinct().ToArray();
        var cols = taps.Select(t => t % kernelSize).Distinct().ToArray();
        bool Progression(int[] v) => v.Length < 2 || v.Zip(v.Skip(1), (a, b) => b - a).All(step => step == v[1] - v[0] && step > 0);
        if (rows.Length * cols.Length != taps.Length || !Progression(rows) || !Progression(cols))
            return null;
        for (var i = 0; i < taps.Length; i++)
            if (taps[i] != rows[i / cols.Length] * kernelSize + cols[i % cols.Length])
                return null;
        var rowStep = rows.Length > 1 ? rows[1] - rows[0] : 1;
        var colStep = cols.Length > 1 ? cols[1] - cols[0] : 1;
        return (rows[0], rowStep, rows.Length, cols[0], colStep, cols.Length);
    }

    public int Pad => Dilation * (KernelSize - 1) / 2;

    public int WideWidth => Width + Pad;

    /// <summary>Number of wide positions of the output, Height * WideWidth.</summary>
    public int WideLength => Height * WideWidth;

    /// <summary>Mask (S, B, WideLength) applied to the columns: the mask of each computed tap at each wide output position.</summary>
    public Tensor ForwardMask { get; }

    /// <summary>
    /// Mask (S, B, WideLength) applied to the shifted output gradient: ForwardMask[s, u - offset(s)]; for a full grid
    /// of taps its rows are in reversed tap order (see <see cref="Grid"/>).
    /// </summary>
    public Tensor BackwardMask { get; }

    /// <summary>Number of masks: 1 when shared by the batch, else the batch size.</summary>
    public long MaskBatch => ForwardMask.shape[1];

    /// <summary>Offset of tap s from the centre in wide positions: di * WideWidth + dj.</summary>
    public int WideOffset(int tap)
    {
        var half = KernelSize / 2;
        var (di, dj) = ((tap / KernelSize - half) * Dilation, (tap % KernelSize - half) * Dilation);
        return di * WideWidth + dj;
    }

    /// <summary>
    /// Samples [start, start + count) of (N, C, H, W), channels first and zero-padded to the flattened wide layout
    /// (C, count, (H + 2 pad + 2) * Wp); pixel (i, j) lands at (pad + 1) * Wp + i * Wp + j.
    /// </summary>
    public Tensor PadWide(Tensor t, long start, long count)
    {
        using var chunk = t.narrow(0, start, count);
        using var channelsFirst = chunk.permute(1, 0, 2, 3);
        using var padded = nn.functional.pad(channelsFirst, new long[] { 0, Pad, Pad + 1, Pad + 1 });
        return padded.view(t.shape[1], count, -1);
    }

    /// <summary>Samples [start, start + count) of (N, C, H, W), channels first with Pad zero columns per row: (C, count * WideLength).</summary>
    public Tensor WideRows(Tensor t, long start, long count)
    {
        using var chunk = t.narrow(0, start, count);
        using var channelsFirst = chunk.permute(1, 0, 2, 3);
        using var padded = nn.functional.pad(channelsFirst, new long[] { 0, Pad });
        return padded.view(t.shape[1], count * WideLength);
    }

    /// <summary>
    /// The forward or backward mask for samples [start, start + count) as (S, count, WideLength). A shared mask is
    /// materialised (cached per count) rather than broadcast, so that in-place masking runs over long contiguous rows.
    /// </summary>
    public Tensor ChunkMask(bool backward, long start, long count)
    {
        var mask = backward ? BackwardMask : ForwardMask;
        if (MaskBatch != 1)
            return mask.narrow(1, start, count);
        var cache = backward ? expandedBackward : expandedForward;
        lock (cache)
        {
            if (!cache.TryGetValue(count, out var expanded))
            {
                using var scope = NewDisposeScope();
                expanded = mask.expand(mask.shape[0], count, mask.shape[2]).contiguous().DetachFromDisposeScope();
                cache[count] = expanded;
            }

            return expanded.alias();
        }
    }

    private readonly Dictionary<long, Tensor> expandedForward = new();
    private readonly Dictionary<long, Tensor> expandedBackward = new();

    /// <summary>Start, in the padded wide layout, of the slice holding tap s's input for wide outputs 0..WideLength-1.</summary>
    public long InputStart(int tap) => (long)(Pad + 1) * WideWidth + WideOffset(tap);

    /// <summary>Start, in the padded wide layout, of the slice holding the output gradient that reaches wide input position 0 through tap s.</summary>
    public long GradientStart(int tap) => (long)(Pad + 1) * WideWidth - WideOffset(tap);

    /// <summary>
    /// Builds the layout for the given taps from a mask (T, H*W) or (N, T, H*W) given as a CPU array
    /// ([b, t, p] flattened), placing the masks on the device and dtype given.
    /// </summary>
    public static WideColumnLayout Create(double[] mask, int batch, int height, int width, int kernelSize, int dilation, int[] taps, ScalarType dtype, Device device, long? maxChunk = null)
    {
        var pad = dilation * (kernelSize - 1) / 2;
        var wideWidth = width + pad;
        var wideLength = height * wideWidth;
        var tapCount = kernelSize * kernelSize;
        var pixels = height * width;
        var forward = new double[batch * taps.Length * wideLength];
        var backward = new double[batch * taps.Length * wideLength];
        var layout = new WideColumnLayout(height, width, kernelSize, dilation, taps, null!, null!, null);
        var grid = layout.IsGrid;
        for (var b = 0; b < batch; b++)
        {
            for (var s = 0; s < taps.Length; s++)
            {
                var row = (s * batch + b) * wideLength;
                var source = (b * tapCount + taps[s]) * pixels;
                for (var i = 0; i < height; i++)
                    for (var j = 0; j < width; j++)
                        forward[row + i * wideWidth + j] = mask[source + i * width + j];
                var offset = layout.WideOffset(taps[s]);
                var backwardRow = grid ? ((taps.Length - 1 - s) * batch + b) * wideLength : row;
                for (var u = 0; u < wideLength; u++)
                {
                    var v = u - offset;
                    if (v >= 0 && v < wideLength)
                        backward[backwardRow + u] = forward[row + v];
                }
            }
        }

        var shape = new long[] { taps.Length, batch, wideLength };
        using var scope = NewDisposeScope();
        var forwardMask = tensor(forward, shape, ScalarType.Float64).to(dtype, device).DetachFromDisposeScope();
        var backwardMask = tensor(backward, shape, ScalarType.Float64).to(dtype, device).DetachFromDisposeScope();
        return new WideColumnLayout(height, width, kernelSize, dilation, taps, forwardMask, backwardMask, maxChunk);
    }
}
