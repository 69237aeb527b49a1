using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// One group of units (sample, pixel) of <see cref="GatheredLayout"/> computed together: every unit reads the group's
/// taps, each either from its input pixel or, where the unit's own pattern lacks the tap, from a zero row
/// (<see cref="GatheredLayout.Source"/>).
/// </summary>
/// <param name="Taps">The kernel taps t = ki * k + kj the group computes, ascending (may be empty: output = bias).</param>
/// <param name="Units">The units u = sample * H * W + pixel (sample 0 for a mask shared by the batch), ascending.</param>
internal sealed record GatheredCluster(int[] Taps, int[] Units);

/// <summary>
/// Geometry and groups of the gathered-columns path (<see cref="GatheredColumnsFunction"/>) for a 0/1 mask: the units
/// are split into groups that share a tap set (the union of their members' taps), and each group is one matrix product
/// of its gathered input rows, so that a unit costs its group's taps instead of all k*k. The forward groups partition
/// the output pixels; the backward groups partition the input pixels for the input gradient, with the taps through
/// which each input pixel reaches an output whose mask is on (the transposed mask), so that both write every row once
/// and need no scatter-add.
/// </summary>
/// <remarks>
/// Inputs are laid out channels last and zero-padded by pad = dilation * (k - 1) / 2 on every side, one sample after the
/// other, each followed by one extra zero row: (N * Lp, C) with Lp = (H + 2 pad) * (W + 2 pad) + 1. Tap t of output
/// pixel (i, j) then reads row n * Lp + (i + pad + di) * Wp + (j + pad + dj). The units are processed sorted by group
/// (for a shared mask: group, then sample, then pixel), so that a group's gathered rows and products are contiguous
/// blocks, one gather serves a whole chunk of groups, and the products write straight into the sorted result, which
/// one row gather puts back in image order. Instances are immutable and cached with the plan; the index tensors for a
/// batch size are built on first use and cached, written straight into tensor memory.
/// </remarks>
internal sealed class GatheredLayout
{
    private readonly Dictionary<(long Batch, DeviceType Type, int Index), (Direction Forward, Direction Backward)> _indices = new();

    /// <summary>Creates a layout from its groups (see <see cref="GatheredCluster"/>) and the units' tap patterns.</summary>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="maskBatch">1 for a mask shared by the batch, else the batch size.</param>
    /// <param name="forward">Groups of output units.</param>
    /// <param name="backward">Groups of input units.</param>
    /// <param name="forwardPatterns">Per output unit, the taps that are on and land inside the image (bit t).</param>
    /// <param name="backwardPatterns">Per input unit, the taps through which it reaches an output whose mask is on.</param>
    /// <param name="maxChunk">For tests: the most units per chunk.</param>
    public GatheredLayout(int height, int width, int kernelSize, int dilation, int maskBatch,
        IReadOnlyList<GatheredCluster> forward, IReadOnlyList<GatheredCluster> backward, ulong[] forwardPatterns, ulong[] backwardPatterns,
        long? maxChunk = null)
    {
        ForwardPatterns = forwardPatterns;
        BackwardPatterns = backwardPatterns;
        MaxChunk = maxChunk;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
        Dilation = dilation;
        MaskBatch = maskBatch;
        Forward = forward;
        Backward = backward;
    }

    /// <summary>For tests: the most units per chunk (null: chosen from the chunk size in bytes).</summary>
    public long? MaxChunk { get; }

    public int Height { get; }

    public int Width { get; }

    public int KernelSize { get; }

    public int Dilation { get; }

    /// <summary>1 for a mask shared by the batch, else the batch size the groups were built for.</summary>
    public int MaskBatch { get; }

    /// <summary>Groups of output pixels (forward and weight gradient).</summary>
    public IReadOnlyList<GatheredCluster> Forward { get; }

    /// <summary>Groups of input pixels (input gradient; taps read the output gradient at the mirrored offsets).</summary>
    public IReadOnlyList<GatheredCluster> Backward { get; }

    /// <summary>Per output unit: the taps that are on and land inside the image.</summary>
    public ulong[] ForwardPatterns { get; }

    /// <summary>Per input unit: the taps through which it reaches an output whose mask is on.</summary>
    public ulong[] BackwardPatterns { get; }

    /// <summary>
    /// Where unit <paramref name="unit"/> of a group reads tap <paramref name="tap"/>: a position row * Wp + column of
    /// its sample's zero-padded image (offset by the tap, mirrored in backward), or -1 where its pattern lacks the tap
    /// (it then reads the zero row).
    /// </summary>
    public int Source(int unit, int tap, bool backward)
    {
        var patterns = backward ? BackwardPatterns : ForwardPatterns;
        if ((patterns[unit] >> tap & 1) == 0)
            return -1;
        var offset = TapOffset(tap);
        return PaddedPosition(unit % Pixels) + (backward ? -offset : offset);
    }

    public int Pad => Dilation * (KernelSize - 1) / 2;

    public int PaddedWidth => Width + 2 * Pad;

    /// <summary>Rows per sample in the padded layout, the trailing zero row included.</summary>
    public int PaddedLength => (Height + 2 * Pad) * PaddedWidth + 1;

    /// <summary>Units per sample (H * W).</summary>
    public int Pixels => Height * Width;

    /// <summary>Position in a sample's padded image of pixel p.</summary>
    public int PaddedPosition(int pixel) => (pixel / Width + Pad) * PaddedWidth + pixel % Width + Pad;

    /// <summary>Offset in the padded image of tap t.</summary>
    public int TapOffset(int tap)
    {
        var half = KernelSize / 2;
        return (tap / KernelSize - half) * Dilation * PaddedWidth + (tap % KernelSize - half) * Dilation;
    }

    /// <summary>Mean number of taps computed per output unit (forward groups), for descriptions.</summary>
    public double TapsPerUnit => (double)Forward.Sum(c => (long)c.Units.Length * c.Taps.Length) / Forward.Sum(c => c.Units.Length);

    /// <summary>(N, C, H, W) to the padded channels-last rows (N * Lp, C), the padding and the zero rows zero.</summary>
    public Tensor PadChannelsLast(Tensor t)
    {
        var (n, c) = (t.shape[0], t.shape[1]);
        // Only the borders are zeroed (the interior is written once by the copy).
        var padded = torch.empty(new[] { n, (long)PaddedLength, c }, t.dtype, t.device);
        using (var zeroRow = padded.narrow(1, PaddedLength - 1, 1))
            zeroRow.zero_();
        using var image = padded.narrow(1, 0, PaddedLength - 1).view(n, Height + 2 * Pad, PaddedWidth, c);
        if (Pad > 0)
        {
            using (var top = image.narrow(1, 0, Pad))
                top.zero_();
            using (var bottom = image.narrow(1, Pad + Height, Pad))
                bottom.zero_();
            using var rows = image.narrow(1, Pad, Height);
            using (var left = rows.narrow(2, 0, Pad))
                left.zero_();
            using (var right = rows.narrow(2, Pad + Width, Pad))
                right.zero_();
        }

        using (var interior = image.narrow(1, Pad, Height).narrow(2, Pad, Width))
        using (var channelsLast = t.permute(0, 2, 3, 1))
            interior.copy_(channelsLast);
        return padded.view(n * PaddedLength, c);
    }

    /// <summary>The index tensors of both directions for a batch size, built once per batch size and device.</summary>
    public (Direction Forward, Direction Backward) IndicesFor(long batch, Device device)
    {
        if (MaskBatch != 1 && batch != MaskBatch)
            throw new ArgumentException($"The per-sample mask holds {MaskBatch} samples, the input {batch}.", nameof(batch));
        lock (_indices)
        {
            var key = (batch, device.type, device.index);
            if (!_indices.TryGetValue(key, out var indices))
            {
                indices = (Direction.Create(this, Forward, backward: false, batch, device), Direction.Create(this, Backward, backward: true, batch, device));
                indices.Forward.MaxChunk = MaxChunk;
                indices.Backward.MaxChunk = MaxChunk;
                _indices[key] = indices;
            }

            return indices;
        }
    }

    /// <summary>One group in the sorted order: its units [Start, Start + Count), its rows of the gather from GatherStart,
    /// and its taps' rows [TapStart, TapStart + TapCount) of the direction's stacked weight blocks.</summary>
    internal readonly record struct Group(long Start, long Count, long GatherStart, int TapStart, int TapCount);

    /// <summary>
    /// The indices of one direction for one batch size, units sorted by group: Gather (rows every unit's taps read, in
    /// order), Order (image row n * H * W + p of each sorted unit), Inverse (sorted position of each image row), Taps
    /// (every group's taps, concatenated).
    /// </summary>
    internal sealed record Direction(Tensor Gather, Tensor Order, Tensor Inverse, Tensor Taps, Group[] Groups, long Units)
    {
        /// <summary>For tests: the most units per chunk.</summary>
        public long? MaxChunk { get; set; }

        public static Direction Create(GatheredLayout layout, IReadOnlyList<GatheredCluster> clusters, bool backward, long batch, Device device)
        {
            var copies = layout.MaskBatch == 1 ? batch : 1;
            var (pixels, length) = (layout.Pixels, (long)layout.PaddedLength);
            var units = copies * clusters.Sum(c => c.Units.Length);
            using var scope = NewDisposeScope();
            // Written in place on the CPU (no managed arrays of the batch's size), then moved to the device.
            var gatherTensor = empty(new[] { copies * clusters.Sum(c => (long)c.Units.Length * c.Taps.Length) }, ScalarType.Int64, CPU);
            var orderTensor = empty(new[] { units }, ScalarType.Int64, CPU);
            var inverseTensor = empty(new[] { units }, ScalarType.Int64, CPU);
            var gather = Longs(gatherTensor);
            var order = Longs(orderTensor);
            var inverse = Longs(inverseTensor);
            var groups = new Group[clusters.Count];
            var (k, g, tapStart) = (0L, 0L, 0);
            for (var c = 0; c < clusters.Count; c++)
            {
                var cluster = clusters[c];
                var taps = cluster.Taps.Length;
                groups[c] = new Group(k, copies * cluster.Units.Length, g, tapStart, taps);
                tapStart += taps;
                for (long n = 0; n < copies; n++)
                {
                    foreach (var unit in cluster.Units)
                    {
                        var sample = n + unit / pixels;
                        order[(int)k] = sample * pixels + unit % pixels;
                        inverse[(int)order[(int)k]] = k;
                        k++;
                        foreach (var tap in cluster.Taps)
                        {
                            var source = layout.Source(unit, tap, backward);
                            gather[(int)g++] = sample * length + (source < 0 ? length - 1 : source);
                        }
                    }
                }
            }

            var tapTensor = tensor(clusters.SelectMany(c => c.Taps).Select(t => (long)t).ToArray(), ScalarType.Int64, device);
            return new Direction(
                gatherTensor.to(device).DetachFromDisposeScope(),
                orderTensor.to(device).DetachFromDisposeScope(),
                inverseTensor.to(device).DetachFromDisposeScope(),
                tapTensor.DetachFromDisposeScope(),
                groups, units);
        }

        private static Span<long> Longs(Tensor t) => MemoryMarshal.Cast<byte, long>(t.bytes);

        /// <summary>
        /// Consecutive ranges of sorted units whose gathered rows take about <paramref name="chunkBytes"/>, each with the
        /// pieces of groups it holds: (group, first unit, units) with units counted from the chunk's start.
        /// </summary>
        public IEnumerable<Chunk> Chunks(long bytesPerRow, long chunkBytes)
        {
            var pieces = new List<(Group Group, long Start, long Count)>();
            var (chunkStart, gatherStart, rows, units, bytes) = (0L, 0L, 0L, 0L, 0L);
            foreach (var group in Groups)
            {
                var done = 0L;
                while (done < group.Count)
                {
                    var perUnit = Math.Max(1, group.TapCount) * bytesPerRow;
                    var room = pieces.Count == 0
                        ? Math.Max(1, Math.Min(chunkBytes / perUnit, MaxChunk ?? long.MaxValue))
                        : Math.Min((chunkBytes - bytes) / perUnit, (MaxChunk ?? long.MaxValue) - units);
                    if (room <= 0)
                    {
                        yield return new Chunk(chunkStart, gatherStart, rows, pieces.ToArray());
                        pieces.Clear();
                        (chunkStart, gatherStart, rows, units, bytes) = (group.Start + done, group.GatherStart + done * group.TapCount, 0L, 0L, 0L);
                        continue;
                    }

                    var count = Math.Min(room, group.Count - done);
                    pieces.Add((group, group.Start + done - chunkStart, count));
                    (rows, units, bytes) = (rows + count * group.TapCount, units + count, bytes + count * perUnit);
                    done += count;
                }
            }

            if (pieces.Count > 0)
                yield return new Chunk(chunkStart, gatherStart, rows, pieces.ToArray());
        }
    }

    /// <summary>
    /// A range of sorted units starting at Start, whose gathered rows are Gather[GatherStart, GatherStart + Rows); each
    /// piece is (group, first unit relative to Start, units), its rows relative to the chunk's first gathered row.
    /// </summary>
    internal readonly record struct Chunk(long Start, long GatherStart, long Rows, (Group Group, long Start, long Count)[] Pieces)
    {
        /// <summary>The units of the chunk.</summary>
        public long Units => Pieces.Sum(p => p.Count);

        /// <summary>Row in the chunk's gathered rows where a piece starts.</summary>
        public long RowOf(int piece) => Pieces.Take(piece).Sum(p => p.Count * p.Group.TapCount);
    }
}
