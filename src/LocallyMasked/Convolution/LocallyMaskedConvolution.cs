using LocallyMasked.Convolution.Planning;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution;

/// <summary>
/// The factory and the stateless (functional) form of the locally masked convolution, in the style of
/// <c>torch.nn.Conv2d(...)</c> and <c>torch.nn.functional.conv2d(...)</c>: a caller who holds weights can apply the
/// operation without a module. Both compute exactly what <see cref="Convolution.LocallyMaskedConv2d"/> computes, through
/// the same planned paths, chosen by a <see cref="PlanningPolicy"/> (<see cref="PlanningPolicy.Deterministic"/> unless
/// given).
/// </summary>
public static class LocallyMaskedConvolution
{
#pragma warning disable IDE1006 // PyTorch names: the torch.nn-style factory and functional form.
    /// <summary>Creates a <see cref="Convolution.LocallyMaskedConv2d"/> module (see its constructor).</summary>
    /// <param name="in_channels">Number of input channels (positive).</param>
    /// <param name="out_channels">Number of output channels (positive).</param>
    /// <param name="kernel_size">Odd, positive kernel size k; the kernel is k x k.</param>
    /// <param name="dilation">Positive spacing between kernel taps.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <param name="mask_weight">Whether to learn a per-output, per-tap mask weight whose term is added to the output.</param>
    /// <param name="weight_norm">Whether the weight is parametrised as <c>weight_g * weight_v / ||weight_v||</c>.</param>
    /// <param name="device">Device of the parameters (default device when null).</param>
    /// <param name="dtype">Floating-point type of the parameters (default dtype when null).</param>
    /// <param name="planning">What chooses the computation path; <see cref="PlanningPolicy.Deterministic"/> when null.</param>
    public static LocallyMaskedConv2d LocallyMaskedConv2d(int in_channels, int out_channels, int kernel_size = 3, int dilation = 1,
        bool bias = true, bool mask_weight = false, bool weight_norm = false, Device? device = null, ScalarType? dtype = null,
        PlanningPolicy? planning = null) =>
        new(in_channels, out_channels, kernel_size, dilation, bias, mask_weight, weight_norm, device, dtype, planning);

    /// <summary>
    /// The locally masked convolution of <paramref name="input"/>: a stride-1, zero-padded convolution in which kernel tap
    /// t = ki * k + kj contributes to output pixel p only with weight <c>mask[t, p]</c>; with <paramref name="mask_weight"/>
    /// the output at p also gains <c>sum_t mask_weight[o, t] * mask[t, p]</c> (the reference code's learned mask weight).
    /// </summary>
    /// <param name="input">Input (N, C, H, W).</param>
    /// <param name="mask">Mask (k*k, H*W) shared by the batch, or (N, k*k, H*W) one per sample; converted to the input's
    /// device and dtype if needed; differentiated only when it requires a gradient.</param>
    /// <param name="weight">Weight (O, C, k, k) with k odd, of the input's dtype and device.</param>
    /// <param name="bias">Bias (O), or null.</param>
    /// <param name="mask_weight">Mask weight (O, k, k), or null.</param>
    /// <param name="dilation">Positive spacing between kernel taps; the zero padding is dilation * (k - 1) / 2 on each side.</param>
    /// <param name="planning">What chooses the computation path; <see cref="PlanningPolicy.Deterministic"/> when null. The
    /// mask's analysis is cached for this mask tensor (it must not be modified in place afterwards).</param>
    /// <param name="precision">The precision of the products; <see cref="ComputePrecision.Float32"/> (the weight's dtype)
    /// when null. With <see cref="ComputePrecision.BFloat16Mixed"/> (float32 weights only) the input, weight and mask
    /// weight are cast to bf16 for the products, and the bias is added to their float32 result.</param>
    /// <returns>Output (N, O, H, W) in the weight's dtype.</returns>
    /// <exception cref="ArgumentException">A shape, channel count, dtype or the dilation does not fit, or a mixed precision
    /// with a weight that is not float32.</exception>
    public static Tensor locally_masked_conv2d(Tensor input, Tensor mask, Tensor weight, Tensor? bias = null, Tensor? mask_weight = null, int dilation = 1,
        PlanningPolicy? planning = null, ComputePrecision? precision = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 4 || weight.shape[2] != weight.shape[3] || weight.shape[2] % 2 == 0)
            throw new ArgumentException($"Expected a weight of shape (O, C, k, k) with k odd, got shape [{string.Join(", ", weight.shape)}].", nameof(weight));
        if (dilation <= 0)
            throw new ArgumentException($"Expected a positive dilation, got {dilation}.", nameof(dilation));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"Expected a bias of shape ({weight.shape[0]}), got shape [{string.Join(", ", bias.shape)}].", nameof(bias));
        if (mask_weight is not null && !mask_weight.shape.SequenceEqual(new[] { weight.shape[0], weight.shape[2], weight.shape[3] }))
            throw new ArgumentException(
                $"Expected a mask weight of shape ({weight.shape[0]}, {weight.shape[2]}, {weight.shape[3]}), got shape [{string.Join(", ", mask_weight.shape)}].", nameof(mask_weight));
        CheckInputs(input, mask, weight.shape[1], (int)weight.shape[2], weight.dtype, "the weight's");
        var compute = precision ?? ComputePrecision.Float32;
        compute.CheckParameters(weight.dtype, nameof(precision));
        return Apply(input, mask, null, weight, bias, mask_weight, (int)weight.shape[2], dilation, planning ?? PlanningPolicy.Deterministic, compute);
    }
#pragma warning restore IDE1006

    /// <summary>
    /// The convolution without argument checks: the mask is converted to x's device and dtype (the products') when
    /// needed. A mask with a source is analysed from its orders; any other under the caller's mask instance, so that it
    /// is analysed once however it is passed. The products compute in <paramref name="precision"/> (Float32 when null).
    /// </summary>
    internal static Tensor Apply(Tensor x, Tensor mask, MaskSource? source, Tensor weight, Tensor? bias, Tensor? maskWeight, int kernelSize, int dilation,
        PlanningPolicy policy, ComputePrecision? precision = null)
    {
        precision ??= ComputePrecision.Float32;
        using var scope = NewDisposeScope();
        // The products' operands in the compute precision (the same tensors in the weight's dtype). The plans are keyed
        // by that dtype, so a bf16 call has plans of its own, with its masks in bf16 (0 and 1 are exact).
        var input = precision.Operand(x);
        var m = mask.device == input.device && mask.dtype == input.dtype ? mask : mask.to(input.dtype, input.device);
        var output = precision.IsMixed
            ? ComputePrecision.Result(ConvolutionPlanner.Apply(input, precision.Operand(weight), null, m, mask, source, kernelSize, dilation, policy),
                weight.dtype, bias?.view(1, -1, 1, 1))
            : ConvolutionPlanner.Apply(x, weight, bias, m, mask, source, kernelSize, dilation, policy);
        if (maskWeight is not null)
        {
            // The mask's own term does not depend on the input: (O, T) @ (T, P) or @ (N, T, P), one small product that
            // every path shares and autograd differentiates.
            var term = ComputePrecision.Result(MaskTerm(precision.Operand(maskWeight), m), weight.dtype);
            output = output.Plus(term.view(m.dim() == 3 ? x.shape[0] : 1, weight.shape[0], x.shape[2], x.shape[3]));
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The mask weight's term <c>sum_t mask_weight[o, t] * mask[t, p]</c>: (O, P) for a shared mask, (N, O, P) per sample.</summary>
    internal static Tensor MaskTerm(Tensor maskWeight, Tensor mask) => maskWeight.reshape(maskWeight.shape[0], -1).matmul(mask);

    /// <summary>Checks an input and a mask against a layer's channel count, kernel size and dtype.</summary>
    internal static void CheckInputs(Tensor x, Tensor mask, long inChannels, int kernelSize, ScalarType dtype, string dtypeOwner)
    {
        if (x is null)
            throw new ArgumentException("Expected an input tensor, got null.", nameof(x));
        if (mask is null)
            throw new ArgumentException("Expected a mask tensor, got null.", nameof(mask));
        if (x.dim() != 4)
            throw new ArgumentException($"Expected a 4-D input (N, {inChannels}, H, W), got shape [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.shape[1] != inChannels)
            throw new ArgumentException($"Expected {inChannels} input channels (dimension 1), got shape [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.dtype != dtype)
            throw new ArgumentException($"Expected an input of {dtypeOwner} dtype {dtype}, got {x.dtype}.", nameof(x));
        var taps = (long)kernelSize * kernelSize;
        var pixels = x.shape[2] * x.shape[3];
        var expected = $"(k*k = {taps}, H*W = {pixels}) or (N = {x.shape[0]}, {taps}, {pixels})";
        if (mask.dim() != 2 && mask.dim() != 3)
            throw new ArgumentException($"Expected a mask of shape {expected}, got shape [{string.Join(", ", mask.shape)}].", nameof(mask));
        if (mask.shape[^2] != taps)
            throw new ArgumentException($"Expected a mask with k*k = {taps} rows (one per kernel tap) of shape {expected}, got shape [{string.Join(", ", mask.shape)}].", nameof(mask));
        if (mask.shape[^1] != pixels)
            throw new ArgumentException($"Expected a mask with H*W = {pixels} columns (one per output pixel) of shape {expected}, got shape [{string.Join(", ", mask.shape)}].", nameof(mask));
        if (mask.dim() == 3 && mask.shape[0] != x.shape[0])
            throw new ArgumentException($"Expected a per-sample mask with batch size {x.shape[0]} of shape {expected}, got shape [{string.Join(", ", mask.shape)}].", nameof(mask));
    }
}
