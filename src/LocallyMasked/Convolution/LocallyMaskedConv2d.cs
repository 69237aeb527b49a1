using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution;

/// <summary>
/// Locally masked 2-D convolution (Jain, Abbeel, Pathak, UAI 2020): a stride-1, zero-padded
/// convolution whose kernel is masked differently at every output location, so that one set of
/// weights can follow any generation order. Tap t = ki * k + kj of the kernel contributes to output
/// pixel p only with weight <c>mask[t, p]</c> (times the optional learned <c>mask_weight[o, t]</c>).
/// </summary>
/// <remarks>
/// The weight has the layout of <c>torch.nn.Conv2d</c>'s (a conv2d weight loads unchanged) and the
/// same initialisation. The computation is chosen per mask tensor and cached for that instance: the
/// general path is a masked im2col product whose backward recomputes the patches instead of storing them.
/// </remarks>
public sealed class LocallyMaskedConv2d : nn.Module<Tensor, Tensor, Tensor>
{
    // Field names are the state-dict keys (PyTorch names); RegisterComponents picks them up.
#pragma warning disable IDE1006
    private Parameter? weight;
    private Parameter? weight_g;
    private Parameter? weight_v;
    private Parameter? bias;
    private Parameter? mask_weight;
#pragma warning restore IDE1006

    /// <summary>
    /// Creates the layer.
    /// </summary>
    /// <param name="inChannels">Number of input channels (positive).</param>
    /// <param name="outChannels">Number of output channels (positive).</param>
    /// <param name="kernelSize">Odd, positive kernel size k; the kernel is k x k.</param>
    /// <param name="dilation">Positive spacing between kernel taps.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel (state-dict key <c>bias</c>).</param>
    /// <param name="learnMaskWeight">Whether to learn <c>mask_weight</c> (out, k, k), initialised to one, that scales the mask per output channel and tap.</param>
    /// <param name="weightNormalization">Whether the weight is parametrised as <c>weight_g * weight_v / ||weight_v||</c> (norm over all dimensions but the first).</param>
    /// <param name="device">Device of the parameters (default device when null).</param>
    /// <param name="dtype">Floating-point type of the parameters (default dtype when null).</param>
    /// <exception cref="ArgumentException">A size is not positive or the kernel size is even.</exception>
    public LocallyMaskedConv2d(int inChannels, int outChannels, int kernelSize = 3, int dilation = 1, bool bias = true,
        bool learnMaskWeight = false, bool weightNormalization = false, Device? device = null, ScalarType? dtype = null)
        : base(nameof(LocallyMaskedConv2d))
    {
        if (inChannels <= 0)
            throw new ArgumentException($"Expected a positive number of input channels, got {inChannels}.", nameof(inChannels));
        if (outChannels <= 0)
            throw new ArgumentException($"Expected a positive number of output channels, got {outChannels}.", nameof(outChannels));
        if (kernelSize <= 0 || kernelSize % 2 == 0)
            throw new ArgumentException($"Expected an odd, positive kernel size (the output keeps the input size and the centre tap is defined), got {kernelSize}.", nameof(kernelSize));
        if (dilation <= 0)
            throw new ArgumentException($"Expected a positive dilation, got {dilation}.", nameof(dilation));

        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Dilation = dilation;

        var type = dtype ?? get_default_dtype();
        var dev = device ?? get_default_device();
        var shape = new long[] { outChannels, inChannels, kernelSize, kernelSize };
        using (no_grad())
        {
            // PyTorch's Conv2d initialisation: kaiming uniform with a = sqrt(5) (bound 1/sqrt(fan_in)), bias uniform in the same bound.
            var w = torch.empty(shape, type, dev);
            nn.init.kaiming_uniform_(w, Math.Sqrt(5));
            var fanIn = (double)inChannels * kernelSize * kernelSize;
            if (weightNormalization)
            {
                var g = w.square().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
                weight_g = (Parameter)new Parameter(g).DetachFromDisposeScope();
                weight_v = (Parameter)new Parameter(w).DetachFromDisposeScope();
            }
            else
            {
                this.weight = (Parameter)new Parameter(w).DetachFromDisposeScope();
            }

            if (bias)
            {
                var bound = 1.0 / Math.Sqrt(fanIn);
                var b = torch.empty(new long[] { outChannels }, type, dev);
                nn.init.uniform_(b, -bound, bound);
                this.bias = (Parameter)new Parameter(b).DetachFromDisposeScope();
            }

            if (learnMaskWeight)
                mask_weight = (Parameter)new Parameter(torch.ones(new long[] { outChannels, kernelSize, kernelSize }, type, dev)).DetachFromDisposeScope();
        }

        RegisterComponents();
    }

    /// <summary>Number of input channels.</summary>
    public int InChannels { get; }

    /// <summary>Number of output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel size k (odd); the kernel has k * k taps.</summary>
    public int KernelSize { get; }

    /// <summary>Spacing between kernel taps; the zero padding is dilation * (k - 1) / 2 on each side.</summary>
    public int Dilation { get; }

    /// <summary>
    /// Applies the locally masked convolution.
    /// </summary>
    /// <param name="x">Input (N, InChannels, H, W) with the layer's dtype.</param>
    /// <param name="mask">Mask (k*k, H*W) shared by the batch, or (N, k*k, H*W) one per sample; row t = ki * k + kj is
    /// the kernel tap, column p = row * W + col the output pixel. Converted to the input's device and dtype if needed;
    /// treated as a constant unless it requires a gradient.</param>
    /// <returns>Output (N, OutChannels, H, W).</returns>
    /// <exception cref="ArgumentException">The input or mask shape, channel count or dtype does not match the layer.</exception>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        Validate(x, mask);
        using var scope = NewDisposeScope();
        var effectiveWeight = EffectiveWeight();
        var m = mask.device == x.device && mask.dtype == x.dtype ? mask : mask.to(x.dtype, x.device);
        var output = ConvolutionPlanner.Apply(x, effectiveWeight, bias, m, mask, KernelSize, Dilation);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The convolution weight actually applied (O, C, k, k): <c>weight</c>, or <c>weight_g * weight_v / ||weight_v||</c>,
    /// times <c>mask_weight</c> per output channel and tap when learned. Differentiable with respect to the parameters.
    /// </summary>
    /// <returns>A tensor of the parameters' device and dtype.</returns>
    internal Tensor EffectiveWeight()
    {
        using var scope = NewDisposeScope();
        Tensor w;
        if (weight_v is not null)
        {
            var norm = weight_v.square().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
            w = weight_g! * weight_v / norm;
        }
        else
        {
            w = weight!.alias();
        }

        if (mask_weight is not null)
            // Folding the per-(output, tap) mask weight into the kernel equals weighting the mask per output channel.
            w = w * mask_weight.unsqueeze(1);
        return w.MoveToOuterDisposeScope();
    }

    /// <summary>The bias parameter (O), or null when the layer has none.</summary>
    internal Tensor? BiasParameter => bias;

    private void Validate(Tensor x, Tensor mask)
    {
        if (x is null)
            throw new ArgumentException("Expected an input tensor, got null.", nameof(x));
        if (mask is null)
            throw new ArgumentException("Expected a mask tensor, got null.", nameof(mask));
        if (x.dim() != 4)
            throw new ArgumentException($"Expected a 4-D input (N, {InChannels}, H, W), got shape [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.shape[1] != InChannels)
            throw new ArgumentException($"Expected {InChannels} input channels (dimension 1), got shape [{string.Join(", ", x.shape)}].", nameof(x));
        var parameterType = (weight ?? weight_v)!.dtype;
        if (x.dtype != parameterType)
            throw new ArgumentException($"Expected an input of the layer's dtype {parameterType}, got {x.dtype}.", nameof(x));
        var taps = (long)KernelSize * KernelSize;
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
