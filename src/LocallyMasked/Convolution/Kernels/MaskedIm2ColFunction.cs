using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Kernels;

/// <summary>
/// The general locally masked convolution: masked im2col followed by one batched matrix product,
/// as a custom autograd function whose backward recomputes the masked patches from the saved input
/// instead of keeping the (kernel area times larger) unfolded input alive between forward and backward.
/// Works for any mask values, shared (T, H*W) or per sample (N, T, H*W).
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: x (N, C, H, W), weight (O, C, k, k), bias (O) or null, mask,
/// kernel size, dilation. The mask gradient is computed only when the mask requires it.
/// </remarks>
internal sealed class MaskedIm2ColFunction : autograd.SingleTensorFunction<MaskedIm2ColFunction>
{
    /// <summary>Name shown by the autograd engine.</summary>
    public override string Name => "LocallyMaskedConv2dIm2Col";

    /// <summary>Computes the convolution; see the class remarks for the argument order.</summary>
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var mask = (Tensor)vars[3];
        var kernelSize = (int)vars[4];
        var dilation = (int)vars[5];

        ctx.save_for_backward(new List<Tensor> { x, weight, mask });
        ctx.save_data("kernelSize", kernelSize);
        ctx.save_data("dilation", dilation);
        ctx.save_data("needs", (x.requires_grad, weight.requires_grad, bias is not null && bias.requires_grad, mask.requires_grad));

        using var scope = NewDisposeScope();
        return Forward(x, weight, bias, mask, kernelSize, dilation).MoveToOuterDisposeScope();
    }

    /// <summary>Gradients for x, weight, bias and (when it requires one) the mask; null for the integers.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var kernelSize = (int)ctx.get_data("kernelSize");
        var dilation = (int)ctx.get_data("dilation");
        var (needX, needWeight, needBias, needMask) = ((bool, bool, bool, bool))ctx.get_data("needs");

        Tensor? gradX = null, gradWeight = null, gradBias = null, gradMask = null;
        using (var scope = NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var (x, weight, mask) = (saved[0], saved[1], saved[2]);
            var grads = Backward(grad_output, x, weight, mask, kernelSize, dilation, needX, needWeight, needBias, needMask);
            gradX = grads.X?.MoveToOuterDisposeScope();
            gradWeight = grads.Weight?.MoveToOuterDisposeScope();
            gradBias = grads.Bias?.MoveToOuterDisposeScope();
            gradMask = grads.Mask?.MoveToOuterDisposeScope();
        }

        return new List<Tensor> { gradX!, gradWeight!, gradBias!, gradMask!, null!, null! };
    }

    /// <summary>The masked patches (N, C*k*k, H*W): tap t of channel c at pixel p is x[c, p + offset(t)] * mask[t, p].</summary>
    internal static Tensor MaskedColumns(Tensor x, Tensor mask, int kernelSize, int dilation)
    {
        using var unmasked = UnmaskedColumnsView(x, kernelSize, dilation);
        return MaskedColumnsFromView(unmasked, mask, x.shape, kernelSize);
    }

    internal static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, Tensor mask, int kernelSize, int dilation)
    {
        var (n, outChannels, h, w) = (x.shape[0], weight.shape[0], x.shape[2], x.shape[3]);
        using var columns = MaskedColumns(x, mask, kernelSize, dilation);
        using var flatWeight = weight.reshape(outChannels, -1);
        // (O, C*k*k) @ (N, C*k*k, H*W): one batched product writes (N, O, H*W) directly, so no output permute.
        var output = torch.matmul(flatWeight, columns);
        if (bias is not null)
        {
            using var b = bias.view(1, outChannels, 1);
            output.PlusInPlace(b);
        }

        return output.view(n, outChannels, h, w);
    }

    internal readonly record struct Gradients(Tensor? X, Tensor? Weight, Tensor? Bias, Tensor? Mask);

    internal static Gradients Backward(Tensor gradOutput, Tensor x, Tensor weight, Tensor mask, int kernelSize, int dilation,
        bool needX, bool needWeight, bool needBias, bool needMask)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var outChannels = weight.shape[0];
        var taps = (long)kernelSize * kernelSize;
        var g = gradOutput.reshape(n, outChannels, h * w);

        Tensor? gradX = null, gradWeight = null, gradBias = null, gradMask = null;
        if (needBias)
            gradBias = g.sum(new long[] { 0, 2 });

        if (needWeight)
        {
            // Recomputed here rather than saved in forward: the paper's memory-efficient design.
            using var columns = MaskedColumns(x, mask, kernelSize, dilation);
            using var perSample = torch.matmul(g, columns.transpose(1, 2));
            gradWeight = perSample.sum(dim: 0).view(weight.shape);
        }

        if (needX || needMask)
        {
            using var flatWeight = weight.reshape(outChannels, -1);
            // (C*k*k, O) @ (N, O, H*W) -> gradient of the masked columns, viewed as (N, C, k, k, H, W).
            using var gradColumns = torch.matmul(flatWeight.t(), g).view(n, c, kernelSize, kernelSize, h, w);
            using var maskView = MaskView(mask, kernelSize, h, w);
            if (needMask)
            {
                using var unmasked = UnmaskedColumnsView(x, kernelSize, dilation);
                using var product = gradColumns * unmasked;
                // Sum over channels, and over the batch when the mask is shared.
                using var summed = mask.dim() == 2 ? product.sum(new long[] { 0, 1 }) : product.sum(dim: 1);
                gradMask = summed.reshape(mask.shape);
            }

            if (needX)
            {
                gradColumns.mul_(maskView);
                gradX = ColumnsToImage(gradColumns, x.shape, kernelSize, dilation);
            }
        }

        return new Gradients(gradX, gradWeight, gradBias, gradMask);
    }

    /// <summary>The mask as (N or 1, 1, k, k, H, W), broadcastable against the column view.</summary>
    internal static Tensor MaskView(Tensor mask, int kernelSize, long h, long w)
    {
        var batch = mask.dim() == 3 ? mask.shape[0] : 1;
        return mask.view(batch, 1, kernelSize, kernelSize, h, w);
    }

    /// <summary>
    /// A zero-copy (N, C, k, k, H, W) view of the zero-padded input in which [.., ki, kj, i, j] is the input
    /// at (i + (ki - k/2) * dilation, j + (kj - k/2) * dilation). Only the padded copy is allocated.
    /// </summary>
    internal static Tensor UnmaskedColumnsView(Tensor x, int kernelSize, int dilation)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var pad = (long)dilation * (kernelSize - 1) / 2;
        using var padded = torch.nn.functional.pad(x, new[] { pad, pad, pad, pad });
        var (hp, wp) = (h + 2 * pad, w + 2 * pad);
        return padded.as_strided(
            new[] { n, c, kernelSize, kernelSize, h, w },
            new[] { c * hp * wp, hp * wp, dilation * wp, dilation, wp, 1L });
    }

    private static Tensor MaskedColumnsFromView(Tensor unmasked, Tensor mask, long[] xShape, int kernelSize)
    {
        var (n, c, h, w) = (xShape[0], xShape[1], xShape[2], xShape[3]);
        using var maskView = MaskView(mask, kernelSize, h, w);
        // One multithreaded elementwise pass writes the masked columns. The mask goes first because the
        // elementwise kernel lays its output out like the first operand that orders two dimensions, and the
        // mask is laid out (.., k, k, H, W) whereas the strided input view is not; contiguous() is then a no-op.
        using var product = maskView * unmasked;
        using var columns = product.contiguous();
        return columns.view(n, c * kernelSize * kernelSize, h * w);
    }

    /// <summary>Adds each tap's column gradient back onto the input pixel it was read from (col2im).</summary>
    internal static Tensor ColumnsToImage(Tensor gradColumns, long[] xShape, int kernelSize, int dilation)
    {
        var (n, c, h, w) = (xShape[0], xShape[1], xShape[2], xShape[3]);
        var pad = (long)dilation * (kernelSize - 1) / 2;
        var padded = torch.zeros(new[] { n, c, h + 2 * pad, w + 2 * pad }, gradColumns.dtype, gradColumns.device);
        for (var ki = 0; ki < kernelSize; ki++)
        {
            for (var kj = 0; kj < kernelSize; kj++)
            {
                using var target = padded.narrow(2, ki * dilation, h).narrow(3, kj * dilation, w);
                using var source = gradColumns.select(2, ki).select(2, kj);
                target.PlusInPlace(source);
            }
        }

        if (pad == 0)
            return padded;
        using (padded)
        {
            return padded.narrow(2, pad, h).narrow(3, pad, w).contiguous();
        }
    }
}
