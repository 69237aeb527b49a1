using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// Locally masked convolution for 0/1 masks as one matrix product per group of output units that share a tap set
/// (<see cref="GatheredLayout"/>): the group's input rows are gathered (channels last, one row per unit and tap, the zero
/// row where the unit's mask is off) and multiplied by the group's taps of the weight. A unit costs its group's taps
/// rather than all k*k, and no masking pass is needed. The backward gathers the output gradient once per backward group
/// (the transposed mask) and takes both gradients from it, so nothing kernel-area sized is kept between forward and
/// backward or gathered from the input again.
/// </summary>
/// <remarks>
/// <para>Arguments of <c>apply</c>: x (N, C, H, W), weight (O, C, k, k), bias (O) or null, layout.</para>
/// <para>Groups are processed in chunks of about <see cref="WideColumnsFunction.ChunkBytes"/> of gathered rows, for the
/// same reasons as the wide columns (the rows stay in the last-level cache, the allocator reuses one block).</para>
/// </remarks>
internal sealed class GatheredColumnsFunction : LayoutConvolutionFunction<GatheredColumnsFunction, GatheredLayout>
{
    /// <summary>Name shown by the autograd engine.</summary>
    public override string Name => "LocallyMaskedConv2dGatheredColumns";

    /// <inheritdoc/>
    protected override Tensor Compute(Tensor x, Tensor weight, Tensor? bias, GatheredLayout layout) => Forward(x, weight, bias, layout);

    /// <inheritdoc/>
    protected override Gradients ComputeGradients(Tensor gradOutput, Tensor x, Tensor weight, GatheredLayout layout, bool needX, bool needWeight, bool needBias) =>
        Backward(gradOutput, x, weight, layout, needX, needWeight, needBias);

    internal static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, GatheredLayout layout)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var (indices, _) = layout.IndicesFor(n, x.device);
        // Disposed explicitly before the layout change (and with the caller's dispose scope on an exception).
        var padded = layout.PadChannelsLast(x);
        // Tap t's weight as a (C, O) block, so that a group's taps are the rows of one (S*C, O) matrix.
        using var taps = weight.permute(2, 3, 1, 0).reshape(-1, c, outChannels);
        using var matrices = new GroupMatrices(taps, indices.Taps);
        var sorted = torch.empty(new[] { indices.Units, outChannels }, x.dtype, x.device);
        foreach (var chunk in indices.Chunks(Math.Max(c, outChannels) * x.ElementSize, WideColumnsFunction.ChunkBytes))
        {
            using var scope = NewDisposeScope();
            var gathered = padded.index_select(0, indices.Gather.narrow(0, chunk.GatherStart, chunk.Rows));
            for (var i = 0; i < chunk.Pieces.Length; i++)
            {
                var (group, start, count) = chunk.Pieces[i];
                var target = sorted.narrow(0, chunk.Start + start, count);
                if (group.TapCount == 0)
                {
                    target.zero_();
                    continue;
                }

                var rows = gathered.narrow(0, chunk.RowOf(i), count * group.TapCount).view(count, -1);
                matrices.Multiply(rows, group, target);
            }
        }

        padded.Dispose();
        return ToImages(sorted, indices, layout, n, bias);
    }

    internal static Gradients Backward(Tensor gradOutput, Tensor x, Tensor weight, GatheredLayout layout, bool needX, bool needWeight, bool needBias)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var (_, backward) = layout.IndicesFor(n, x.device);
        Tensor? gradX = null, gradWeight = null, gradBias = null;
        if (needBias)
            gradBias = gradOutput.sum(new long[] { 0, 2, 3 });
        if (!needX && !needWeight)
            return new Gradients(gradX, gradWeight, gradBias);

        // One pass over the backward groups computes both gradients from the same gathered output-gradient rows G
        // (units x S*O): the input gradient G x (the group's transposed taps), and the weight gradient x^T G, where x is
        // each unit's own input row: input pixel q reaches output q - offset(t) through tap t, so summing x(q)^T g(q -
        // offset(t)) over the units that have tap t is tap t's gradient. Nothing of the input is gathered per tap again.
        var paddedGradient = layout.PadChannelsLast(gradOutput);
        Tensor? inputRows = null, flat = null, sorted = null;
        GroupSums? sums = null;
        GroupMatrices? matrices = null;
        using var taps = weight.permute(2, 3, 0, 1).reshape(-1, outChannels, c);
        try
        {
            if (needWeight)
            {
                using var channelsLast = x.permute(0, 2, 3, 1).reshape(-1, c);
                inputRows = channelsLast.index_select(0, backward.Order);
                flat = torch.zeros(new[] { weight.shape[2] * weight.shape[3], c * outChannels }, x.dtype, x.device);
                sums = new GroupSums(flat, backward.Taps, c, outChannels);
            }

            if (needX)
            {
                // (T, O, C): tap t's transposed weight, read by the backward groups through the mirrored offsets.
                matrices = new GroupMatrices(taps, backward.Taps);
                sorted = torch.empty(new[] { backward.Units, c }, x.dtype, x.device);
            }

            foreach (var chunk in backward.Chunks(Math.Max(c, outChannels) * x.ElementSize, WideColumnsFunction.ChunkBytes))
            {
                using var scope = NewDisposeScope();
                var gathered = paddedGradient.index_select(0, backward.Gather.narrow(0, chunk.GatherStart, chunk.Rows));
                for (var i = 0; i < chunk.Pieces.Length; i++)
                {
                    var (group, start, count) = chunk.Pieces[i];
                    var target = sorted?.narrow(0, chunk.Start + start, count);
                    if (group.TapCount == 0)
                    {
                        target?.zero_();
                        continue;
                    }

                    var rows = gathered.narrow(0, chunk.RowOf(i), count * group.TapCount).view(count, -1);
                    if (target is not null)
                        matrices!.Multiply(rows, group, target);
                    if (sums is not null)
                        sums.For(group).addmm_(inputRows!.narrow(0, chunk.Start + start, count).t(), rows);
                }
            }

            // What the loop needed goes before the input gradient's layout change allocates, to keep the peak low.
            paddedGradient.Dispose();
            inputRows?.Dispose();
            if (sums is not null)
            {
                sums.Flush();
                using var image = flat!.view(weight.shape[2], weight.shape[3], c, outChannels);
                gradWeight = image.permute(3, 2, 0, 1).contiguous();
            }

            if (sorted is not null)
            {
                gradX = ToImages(sorted, backward, layout, n, null);
                sorted = null;
            }
        }
        finally
        {
            paddedGradient.Dispose();
            sums?.Dispose();
            matrices?.Dispose();
            inputRows?.Dispose();
            flat?.Dispose();
            sorted?.Dispose();
        }

        return new Gradients(gradX, gradWeight, gradBias);
    }

    /// <summary>Sorted rows (units, K) back to a contiguous (N, K, H, W) in image order, plus the bias; disposes the sorted rows.</summary>
    private static Tensor ToImages(Tensor sorted, GatheredLayout.Direction indices, GatheredLayout layout, long n, Tensor? bias)
    {
        var channels = sorted.shape[1];
        using var rows = sorted.index_select(0, indices.Inverse);
        sorted.Dispose();
        using var image = rows.view(n, layout.Height, layout.Width, channels);
        using var channelsFirst = image.permute(0, 3, 1, 2);
        if (bias is null)
            return channelsFirst.contiguous();
        using var column = bias.view(1, -1, 1, 1);
        using var sum = channelsFirst.Plus(column);
        return sum.contiguous();
    }

    /// <summary>
    /// The weight matrix of one group at a time, built from the (T, C, O) tap blocks when the group changes: groups come
    /// in order, so each is built once, and only one is alive (stacking every group's would take groups x taps x C x O,
    /// more than the unfolded input for many groups of wide layers).
    /// </summary>
    private sealed class GroupMatrices(Tensor taps, Tensor tapIndex) : IDisposable
    {
        private int _start = -1;
        private Tensor? _matrix;

        /// <summary>target (rows, O) = rows (rows, S*C) x the group's (S*C, O) matrix.</summary>
        public void Multiply(Tensor rows, GatheredLayout.Group group, Tensor target)
        {
            if (group.TapStart != _start || _matrix is null)
            {
                Dispose();
                using var scope = NewDisposeScope();
                using var index = tapIndex.narrow(0, group.TapStart, group.TapCount);
                _matrix = taps.index_select(0, index).view(-1, taps.shape[2]).DetachFromDisposeScope();
                _start = group.TapStart;
            }

            // A BLAS product straight into the sorted rows. (As a 1x1 convolution over the rows seen as a channels-last
            // image, oneDNN's kernels were no faster here once the copy of its result is counted: docs/benchmarks.md.)
            target.addmm_(rows, _matrix, 0, 1);
        }

        public void Dispose()
        {
            _matrix?.Dispose();
            _matrix = null;
        }
    }

    /// <summary>
    /// The (C, S*O) weight gradient of one backward group at a time, summed over the group's pieces and added to its
    /// taps' rows of the (T, C*O) gradient when the group changes (and at <see cref="Flush"/>).
    /// </summary>
    private sealed class GroupSums(Tensor flat, Tensor tapIndex, long inChannels, long outChannels) : IDisposable
    {
        private GatheredLayout.Group? _group;
        private Tensor? _sum;

        public Tensor For(GatheredLayout.Group group)
        {
            if (_group != group || _sum is null)
            {
                Flush();
                _sum = torch.zeros(new[] { inChannels, group.TapCount * outChannels }, flat.dtype, flat.device).DetachFromDisposeScope();
                _group = group;
            }

            return _sum;
        }

        public void Flush()
        {
            if (_sum is null || _group is not { } group)
                return;
            using (var index = tapIndex.narrow(0, group.TapStart, group.TapCount))
            using (var perTap = _sum.view(inChannels, group.TapCount, outChannels).permute(1, 0, 2))
            using (var blocks = perTap.reshape(group.TapCount, inChannels * outChannels))
                flat.index_add_(0, index, blocks, Scalars.One);
            _sum.Dispose();
            (_sum, _group) = (null, null);
        }

        public void Dispose() => _sum?.Dispose();
    }
}
