using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// Locally masked convolution for 0/1 masks as one matrix product per group of output units that share a tap set
/// (<see cref="GatheredLayout"/>): the group's input rows are gathered (channels last, one row per unit and tap, the zero
/// row where the unit's mask is off) and multiplied by the group's taps of the weight. A unit costs its group's taps
/// rather than all k*k, and no masking pass is needed. The backward gathers the output gradient the same way for the
/// weight gradient (forward groups) and the input gradient (backward groups), recomputing the gathered input instead of
/// keeping it.
/// </summary>
/// <remarks>
/// <para>Arguments of <c>apply</c>: x (N, C, H, W), weight (O, C, k, k), bias (O) or null, layout.</para>
/// <para>Groups are processed in chunks of about <see cref="WideColumnsFunction.ChunkBytes"/> of gathered rows, for the
/// same reasons as the wide columns (the rows stay in the last-level cache, the allocator reuses one block).</para>
/// </remarks>
internal sealed class GatheredColumnsFunction : autograd.SingleTensorFunction<GatheredColumnsFunction>
{
    /// <summary>Name shown by the autograd engine.</summary>
    public override string Name => "LocallyMaskedConv2dGatheredColumns";

    /// <summary>Computes the convolution; see the class remarks for the argument order.</summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var layout = (GatheredLayout)vars[3];
        ctx.save_for_backward(new List<Tensor> { x, weight });
        ctx.save_data("layout", layout);
        ctx.save_data("needs", (x.requires_grad, weight.requires_grad, bias is not null && bias.requires_grad));

        using var scope = NewDisposeScope();
        return Forward(x, weight, bias, layout).MoveToOuterDisposeScope();
    }

    /// <summary>Gradients for x, weight and bias; null for the layout.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var layout = (GatheredLayout)ctx.get_data("layout");
        var (needX, needWeight, needBias) = ((bool, bool, bool))ctx.get_data("needs");
        Tensor? gradX = null, gradWeight = null, gradBias = null;
        using (var scope = NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var grads = Backward(grad_output, saved[0], saved[1], layout, needX, needWeight, needBias);
            gradX = grads.X?.MoveToOuterDisposeScope();
            gradWeight = grads.Weight?.MoveToOuterDisposeScope();
            gradBias = grads.Bias?.MoveToOuterDisposeScope();
        }

        return new List<Tensor> { gradX!, gradWeight!, gradBias!, null! };
    }

    internal static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, GatheredLayout layout)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var (indices, _) = layout.IndicesFor(n, x.device);
        using var padded = layout.PadChannelsLast(x);
        // Every group's taps of the weight as (C, O) blocks, stacked: a group's weight matrix is a contiguous (S*C, O) slice.
        using var taps = weight.permute(2, 3, 1, 0).reshape(-1, c, outChannels);
        using var blocks = taps.index_select(0, indices.Taps);
        using var sorted = torch.empty(new[] { indices.Units, outChannels }, x.dtype, x.device);
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
                var groupWeight = blocks.narrow(0, group.TapStart, group.TapCount).view(-1, outChannels);
                target.addmm_(rows, groupWeight, 0, 1);
            }
        }

        return ToImages(sorted, indices, layout, n, bias);
    }

    internal readonly record struct Gradients(Tensor? X, Tensor? Weight, Tensor? Bias);

    internal static Gradients Backward(Tensor gradOutput, Tensor x, Tensor weight, GatheredLayout layout, bool needX, bool needWeight, bool needBias)
    {
        var (n, c, outChannels) = (x.shape[0], x.shape[1], weight.shape[0]);
        var (forward, backward) = layout.IndicesFor(n, x.device);
        Tensor? gradX = null, gradWeight = null, gradBias = null;
        if (needBias)
            gradBias = gradOutput.sum(new long[] { 0, 2, 3 });
        if (!needX && !needWeight)
            return new Gradients(gradX, gradWeight, gradBias);

        using var paddedGradient = layout.PadChannelsLast(gradOutput);
        if (needWeight)
        {
            using var padded = layout.PadChannelsLast(x);
            // The gradient rows of the units in the forward's sorted order, and every group's (S*C, O) gradient block.
            using var gradientRows = paddedGradient.index_select(0, forward.PaddedRows);
            using var blocks = torch.zeros(new[] { forward.Taps.shape[0] * c, outChannels }, x.dtype, x.device);
            foreach (var chunk in forward.Chunks(Math.Max(c, outChannels) * x.ElementSize, WideColumnsFunction.ChunkBytes))
            {
                using var scope = NewDisposeScope();
                // Recomputed here rather than saved in forward: the paper's memory-efficient design.
                var gathered = padded.index_select(0, forward.Gather.narrow(0, chunk.GatherStart, chunk.Rows));
                for (var i = 0; i < chunk.Pieces.Length; i++)
                {
                    var (group, start, count) = chunk.Pieces[i];
                    if (group.TapCount == 0)
                        continue;
                    var rows = gathered.narrow(0, chunk.RowOf(i), count * group.TapCount).view(count, -1);
                    var g = gradientRows.narrow(0, chunk.Start + start, count);
                    blocks.narrow(0, group.TapStart * c, group.TapCount * c).addmm_(rows.t(), g);
                }
            }

            // A tap computed by several groups gets the sum of their blocks.
            using var flat = torch.zeros(new[] { weight.shape[2] * weight.shape[3], c * outChannels }, x.dtype, x.device);
            using (var perTap = blocks.view(-1, c * outChannels))
                flat.index_add_(0, forward.Taps, perTap, 1.0);
            using var image = flat.view(weight.shape[2], weight.shape[3], c, outChannels);
            gradWeight = image.permute(3, 2, 0, 1).contiguous();
        }

        if (needX)
        {
            // (T, O, C): tap t's transposed weight, read by the backward groups through the mirrored offsets.
            using var taps = weight.permute(2, 3, 0, 1).reshape(-1, outChannels, c);
            using var blocks = taps.index_select(0, backward.Taps);
            using var sorted = torch.empty(new[] { backward.Units, c }, x.dtype, x.device);
            foreach (var chunk in backward.Chunks(Math.Max(c, outChannels) * x.ElementSize, WideColumnsFunction.ChunkBytes))
            {
                using var scope = NewDisposeScope();
                var gathered = paddedGradient.index_select(0, backward.Gather.narrow(0, chunk.GatherStart, chunk.Rows));
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
                    target.addmm_(rows, blocks.narrow(0, group.TapStart, group.TapCount).view(-1, c), 0, 1);
                }
            }

            gradX = ToImages(sorted, backward, layout, n, null);
        }

        return new Gradients(gradX, gradWeight, gradBias);
    }

    /// <summary>Sorted rows (units, K) back to a contiguous (N, K, H, W) in image order, plus the bias.</summary>
    private static Tensor ToImages(Tensor sorted, GatheredLayout.Direction indices, GatheredLayout layout, long n, Tensor? bias)
    {
        using var rows = sorted.index_select(0, indices.Inverse);
        using var image = rows.view(n, layout.Height, layout.Width, sorted.shape[1]);
        using var channelsFirst = image.permute(0, 3, 1, 2);
        if (bias is null)
            return channelsFirst.contiguous();
        using var column = bias.view(1, -1, 1, 1);
        using var sum = channelsFirst + column;
        return sum.contiguous();
    }
}
