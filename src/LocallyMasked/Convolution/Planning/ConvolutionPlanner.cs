using System.Runtime.CompilerServices;
using LocallyMasked.Convolution.Kernels;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Chooses how a locally masked convolution is computed for a given mask, and caches that choice per mask instance
/// (the model reuses the same mask tensors for an order), so that the mask is analysed (copied to the CPU) once.
/// </summary>
/// <remarks>The cache assumes masks are not modified in place after their first use.</remarks>
internal static class ConvolutionPlanner
{
    private static readonly ConditionalWeakTable<Tensor, Dictionary<PlanKey, MaskPlan>> Plans = new();

    private readonly record struct PlanKey(long Batch, long Height, long Width, long InChannels, long OutChannels, int KernelSize, int Dilation, ScalarType DType, DeviceType DeviceType, int DeviceIndex);

    /// <summary>
    /// Computes the convolution of x with the effective weight under the mask.
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="weight">Effective weight (O, C, k, k).</param>
    /// <param name="bias">Bias (O) or null.</param>
    /// <param name="mask">Mask on x's device and dtype.</param>
    /// <param name="maskKey">The caller's mask instance, the key under which its analysis is cached.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, Tensor mask, Tensor maskKey, int kernelSize, int dilation)
    {
        // A mask that learns is not a constant: only the general path computes its gradient.
        if (mask.requires_grad)
            return General(x, weight, bias, mask, kernelSize, dilation);
        var plan = PlanFor(maskKey, mask, x, kernelSize, dilation, (int)weight.shape[0]);
        return plan.General ? General(x, weight, bias, mask, kernelSize, dilation) : Apply(x, weight, bias, plan);
    }

    /// <summary>The general masked im2col path, for any mask (the reference the other paths are tested against).</summary>
    public static Tensor General(Tensor x, Tensor weight, Tensor? bias, Tensor mask, int kernelSize, int dilation)
        => MaskedIm2ColFunction.apply(x, weight, bias!, mask, kernelSize, dilation);

    /// <summary>The cached plan for a mask instance and layer shape (the output channels default to the input's), created on first use.</summary>
    public static MaskPlan PlanFor(Tensor maskKey, Tensor mask, Tensor x, int kernelSize, int dilation, int? outChannels = null)
    {
        var outputs = outChannels ?? (int)x.shape[1];
        var key = new PlanKey(x.shape[0], x.shape[2], x.shape[3], x.shape[1], outputs, kernelSize, dilation, x.dtype, x.device_type, x.device_index);
        var plans = Plans.GetValue(maskKey, _ => new Dictionary<PlanKey, MaskPlan>());
        lock (plans)
        {
            if (!plans.TryGetValue(key, out var plan))
            {
                plan = MaskPlan.Create(mask, (int)x.shape[2], (int)x.shape[3], kernelSize, dilation, (int)x.shape[1], x.dtype, x.device,
                    outChannels: outputs, batch: x.shape[0]);
                plans[key] = plan;
            }

            return plan;
        }
    }

    /// <summary>Computes the convolution as the plan says: dense convolution over the box, plus masked columns.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, MaskPlan plan)
    {
        if (plan.Periodic is not null)
            return plan.Periodic.Apply(x, weight, bias, plan.KernelSize, plan.Dilation);
        if (plan.Gathered is not null)
            return GatheredColumnsFunction.apply(x, weight, bias!, plan.Gathered);
        if (plan.General)
            throw new InvalidOperationException("A plan for the general path needs its mask: call Apply with the mask.");
        using var scope = NewDisposeScope();
        Tensor? dense = null;
        if (plan.Box is { } box)
            dense = BoxConvolution(x, weight, bias, plan, box);
        if (plan.Columns is null)
        {
            dense ??= torch.zeros(new[] { x.shape[0], weight.shape[0], x.shape[2], x.shape[3] }, x.dtype, x.device)
                .Plus(bias is null ? torch.zeros(1, x.dtype, x.device) : bias.view(1, -1, 1, 1));
            return dense.contiguous().MoveToOuterDisposeScope();
        }

        var index = torch.tensor(plan.Columns.Taps.Select(t => (long)t).ToArray(), ScalarType.Int64, x.device);
        var columnWeight = weight.reshape(weight.shape[0], weight.shape[1], -1).index_select(2, index);
        var columns = WideColumnsFunction.apply(x, columnWeight, dense is null ? bias! : null!, plan.Columns);
        var result = dense is null ? columns : dense.Plus(columns);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// conv2d with the weight cropped to the box (times the box's 0/1 mask), padded so that output pixel (i, j) reads the
    /// same input pixels as the full kernel would, and cropped back to (H, W) when the box is not centred.
    /// </summary>
    private static Tensor BoxConvolution(Tensor x, Tensor weight, Tensor? bias, MaskPlan plan, (int Row0, int Row1, int Col0, int Col1) box)
    {
        var (half, d) = (plan.KernelSize / 2, plan.Dilation);
        var cropped = weight
            .narrow(2, box.Row0, box.Row1 - box.Row0 + 1)
            .narrow(3, box.Col0, box.Col1 - box.Col0 + 1) * plan.BoxMask!;
        var padRows = Math.Max(half - box.Row0, box.Row1 - half) * d;
        var padCols = Math.Max(half - box.Col0, box.Col1 - half) * d;
        var output = nn.functional.conv2d(x, cropped, bias, padding: new long[] { padRows, padCols }, dilation: new long[] { d, d });
        var (h, w) = (x.shape[2], x.shape[3]);
        var rowStart = (box.Row0 - half) * d + padRows;
        var colStart = (box.Col0 - half) * d + padCols;
        if (output.shape[2] != h || rowStart != 0)
            output = output.narrow(2, rowStart, h);
        if (output.shape[3] != w || colStart != 0)
            output = output.narrow(3, colStart, w);
        return output;
    }
}
