using System.Runtime.CompilerServices;
using LocallyMasked.Convolution.Kernels;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution.Planning;

/// <summary>
/// Chooses how a locally masked convolution is computed for a given mask, as the layer's <see cref="PlanningPolicy"/>
/// says, and caches the choice: for a mask computed from orders (<see cref="MaskSource"/>) with the orders' analyses
/// (<see cref="OrderPlans"/>); for any other mask tensor per tensor instance, whose values are then copied to the CPU
/// once per image size, kernel and dilation.
/// </summary>
/// <remarks>The cache of mask tensors assumes masks are not modified in place after their first use.</remarks>
internal static class ConvolutionPlanner
{
    private static readonly ConditionalWeakTable<Tensor, Dictionary<(int Height, int Width, int KernelSize, int Dilation), MaskAnalysis>> Tensors = new();

    /// <summary>
    /// Computes the convolution of x with the effective weight under the mask.
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="weight">Effective weight (O, C, k, k).</param>
    /// <param name="bias">Bias (O) or null.</param>
    /// <param name="mask">Mask on x's device and dtype.</param>
    /// <param name="maskKey">The caller's mask instance, the key under which a tensor's analysis is cached.</param>
    /// <param name="source">What the mask was computed from, or null for a mask known only by its values.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    /// <param name="policy">What chooses the path.</param>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, Tensor mask, Tensor maskKey, MaskSource? source, int kernelSize, int dilation,
        PlanningPolicy policy)
    {
        // A mask that learns is not a constant: only the general path computes its gradient.
        if (mask.requires_grad)
            return General(x, weight, bias, mask, kernelSize, dilation);
        var outChannels = (int)weight.shape[0];
        MaskPlan? plan = null;
        if (source is not null)
        {
            CheckSource(source, mask, x, kernelSize, dilation);
            plan = OrderPlans.PlanFor(source, x, outChannels, policy);
        }

        plan ??= PlanFor(maskKey, mask, x, kernelSize, dilation, policy, outChannels);
        return plan.General ? General(x, weight, bias, mask, kernelSize, dilation) : Apply(x, weight, bias, plan);
    }

    /// <summary>The general masked im2col path, for any mask (the reference the other paths are tested against).</summary>
    public static Tensor General(Tensor x, Tensor weight, Tensor? bias, Tensor mask, int kernelSize, int dilation)
        => MaskedIm2ColFunction.apply(x, weight, bias!, mask, kernelSize, dilation);

    /// <summary>The cached plan for a mask tensor and layer shape (the output channels default to the input's), created on first use.</summary>
    public static MaskPlan PlanFor(Tensor maskKey, Tensor mask, Tensor x, int kernelSize, int dilation, PlanningPolicy policy, int? outChannels = null)
    {
        var outputs = outChannels ?? (int)x.shape[1];
        var (height, width) = ((int)x.shape[2], (int)x.shape[3]);
        var analyses = Tensors.GetValue(maskKey, _ => new());
        MaskAnalysis? analysis;
        lock (analyses)
        {
            if (!analyses.TryGetValue((height, width, kernelSize, dilation), out analysis))
            {
                analysis = MaskAnalysis.FromTensor(mask, height, width, kernelSize, dilation);
                analyses[(height, width, kernelSize, dilation)] = analysis;
            }
        }

        var costs = policy.CostsFor(x.device, x.dtype);
        return analysis.PlanFor(PlanKey.For(x, outputs, policy),
            m => MaskPlan.Create(m, (int)x.shape[1], x.dtype, x.device, costs, outputs, x.shape[0]));
    }

    /// <summary>A mask source must describe the mask it comes with: a disagreement is a bug of the caller.</summary>
    private static void CheckSource(MaskSource source, Tensor mask, Tensor x, int kernelSize, int dilation)
    {
        var samples = source.PerSample ? x.shape[0] : 1;
        if (source.KernelSize != kernelSize || source.Dilation != dilation || source.PerSample != (mask.dim() == 3)
            || source.Orders.Count != samples || source.Orders.Any(o => o.Height != x.shape[2] || o.Width != x.shape[3]))
        {
            throw new InvalidOperationException(
                $"The mask's source (kernel {source.KernelSize}, dilation {source.Dilation}, {source.Orders.Count} orders) does not describe a " +
                $"mask of shape [{string.Join(", ", mask.shape)}] for kernel {kernelSize}, dilation {dilation} and input [{string.Join(", ", x.shape)}].");
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
