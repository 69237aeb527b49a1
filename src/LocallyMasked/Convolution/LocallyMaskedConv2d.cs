using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Convolution;

/// <summary>
/// Locally masked 2-D convolution (Jain, Abbeel, Pathak, UAI 2020): a stride-1, zero-padded
/// convolution whose kernel is masked differently at every output location, so that one set of
/// weights can follow any generation order. Tap t = ki * k + kj of the kernel contributes to output
/// pixel p only with weight <c>mask[t, p]</c>. With a learned <c>mask_weight</c> (O, k, k) the output also gains, at each
/// location p, the sum over taps t of <c>mask_weight[o, t] * mask[t, p]</c>: the layer is conditioned on the mask itself,
/// independently of the input (the reference code's <c>--learn_weight_for_masks</c>).
/// </summary>
/// <remarks>
/// The weight has the layout of <c>torch.nn.Conv2d</c>'s (a conv2d weight loads unchanged) and the
/// same initialisation. The computation path is chosen per mask by the layer's <see cref="Planning"/> policy and cached
/// (per order for the model's masks, per tensor instance otherwise): the general path is a masked im2col product whose
/// backward recomputes the patches instead of storing them; the others are exact too (they equal it up to rounding).
/// </remarks>
public sealed class LocallyMaskedConv2d : nn.Module<Tensor, Tensor, Tensor>
{
    // The component names are the state-dict keys (PyTorch names); RegisterComponents picks them up.
    [ComponentName(Name = "weight")]
    private Parameter? _weight;

    [ComponentName(Name = "weight_g")]
    private Parameter? _weightG;

    [ComponentName(Name = "weight_v")]
    private Parameter? _weightV;

    [ComponentName(Name = "bias")]
    private Parameter? _bias;

    [ComponentName(Name = "mask_weight")]
    private Parameter? _maskWeight;

    /// <summary>
    /// Creates the layer.
    /// </summary>
    /// <param name="inChannels">Number of input channels (positive).</param>
    /// <param name="outChannels">Number of output channels (positive).</param>
    /// <param name="kernelSize">Odd, positive kernel size k; the kernel is k x k.</param>
    /// <param name="dilation">Positive spacing between kernel taps.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel (state-dict key <c>bias</c>).</param>
    /// <param name="maskWeight">Whether to learn <c>mask_weight</c> (out, k, k), whose term <c>sum_t mask_weight[o, t] * mask[t, p]</c> is
    /// added to the output (initialised like the weight: Kaiming uniform with a = sqrt(5)).</param>
    /// <param name="weightNormalization">Whether the weight is parametrised as <c>weight_g * weight_v / ||weight_v||</c> (norm over all dimensions but the first).</param>
    /// <param name="device">Device of the parameters (default device when null).</param>
    /// <param name="dtype">Floating-point type of the parameters (default dtype when null).</param>
    /// <param name="planning">What chooses the computation path; <see cref="PlanningPolicy.Deterministic"/> when null.</param>
    /// <exception cref="ArgumentException">A size is not positive or the kernel size is even.</exception>
    public LocallyMaskedConv2d(int inChannels, int outChannels, int kernelSize = 3, int dilation = 1, bool bias = true,
        bool maskWeight = false, bool weightNormalization = false, Device? device = null, ScalarType? dtype = null, PlanningPolicy? planning = null)
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
        Planning = planning ?? PlanningPolicy.Deterministic;

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
                var g = w.Squared().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
                _weightG = (Parameter)new Parameter(g).DetachFromDisposeScope();
                _weightV = (Parameter)new Parameter(w).DetachFromDisposeScope();
            }
            else
            {
                _weight = (Parameter)new Parameter(w).DetachFromDisposeScope();
            }

            if (bias)
            {
                var bound = 1.0 / Math.Sqrt(fanIn);
                var b = torch.empty(new long[] { outChannels }, type, dev);
                nn.init.uniform_(b, -bound, bound);
                _bias = (Parameter)new Parameter(b).DetachFromDisposeScope();
            }

            if (maskWeight)
            {
                // As the reference code: kaiming_uniform_(mask_weight, a = sqrt(5)); its fan-in is k * k.
                var m = torch.empty(new long[] { outChannels, kernelSize, kernelSize }, type, dev);
                nn.init.kaiming_uniform_(m, Math.Sqrt(5));
                _maskWeight = (Parameter)new Parameter(m).DetachFromDisposeScope();
            }
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

    /// <summary>What chooses the computation path for each mask.</summary>
    public PlanningPolicy Planning { get; }

    /// <summary>Whether the weight is parametrised as <c>weight_g * weight_v / ||weight_v||</c>.</summary>
    public bool IsWeightNormalized => weight_v is not null;

#pragma warning disable IDE1006 // PyTorch names: these are the state-dict entries.
    // As in TorchSharp's own modules, the setters exist because Module.to(...) replaces parameters through them.

    /// <summary>The convolution weight (O, C, k, k) in conv2d's layout; null when the layer is weight-normalized (see <see cref="weight_v"/>).</summary>
    public Parameter? weight
    {
        get => _weight;
        set => _weight = Register(nameof(weight), _weight, value);
    }

    /// <summary>The weight direction (O, C, k, k) of a weight-normalized layer, else null.</summary>
    public Parameter? weight_v
    {
        get => _weightV;
        set => _weightV = Register(nameof(weight_v), _weightV, value);
    }

    /// <summary>The weight magnitude (O, 1, 1, 1) of a weight-normalized layer, else null.</summary>
    public Parameter? weight_g
    {
        get => _weightG;
        set => _weightG = Register(nameof(weight_g), _weightG, value);
    }

    /// <summary>The bias (O), or null when the layer has none.</summary>
    public Parameter? bias
    {
        get => _bias;
        set => _bias = Register(nameof(bias), _bias, value);
    }

    /// <summary>The learned per-output, per-tap mask weight (O, k, k), or null when the layer has none.</summary>
    public Parameter? mask_weight
    {
        get => _maskWeight;
        set => _maskWeight = Register(nameof(mask_weight), _maskWeight, value);
    }
#pragma warning restore IDE1006

    private Parameter? Register(string name, Parameter? old, Parameter? value)
    {
        if (ReferenceEquals(old, value)) return value;
        old?.Dispose();
        var detached = (Parameter?)value?.DetachFromDisposeScope();
        ConditionallyRegisterParameter(name, detached);
        return detached;
    }

    /// <summary>
    /// Applies the locally masked convolution.
    /// </summary>
    /// <param name="x">Input (N, InChannels, H, W) with the layer's dtype.</param>
    /// <param name="mask">Mask (k*k, H*W) shared by the batch, or (N, k*k, H*W) one per sample; row t = ki * k + kj is
    /// the kernel tap, column p = row * W + col the output pixel. Converted to the input's device and dtype if needed;
    /// treated as a constant unless it requires a gradient.</param>
    /// <returns>Output (N, OutChannels, H, W).</returns>
    /// <exception cref="ArgumentException">The input or mask shape, channel count or dtype does not match the layer.</exception>
    public override Tensor forward(Tensor x, Tensor mask) => Forward(x, mask, null, ComputePrecision.Float32);

    /// <summary>
    /// Applies the locally masked convolution with its products in <paramref name="precision"/>: with
    /// <see cref="ComputePrecision.BFloat16Mixed"/> the input and the effective weight are cast to bf16, the planned path
    /// runs in bf16, and the output (with the bias and the mask weight's term added in float32) is float32; gradients
    /// reach the float32 parameters through the casts.
    /// </summary>
    /// <param name="x">Input (N, InChannels, H, W) with the layer's dtype.</param>
    /// <param name="mask">Mask, as for <see cref="forward(Tensor, Tensor)"/>.</param>
    /// <param name="precision">The compute precision.</param>
    /// <returns>Output (N, OutChannels, H, W) in the layer's dtype.</returns>
    /// <exception cref="ArgumentException">As for <see cref="forward(Tensor, Tensor)"/>, or a mixed precision for a layer that is not float32.</exception>
    public Tensor forward(Tensor x, Tensor mask, ComputePrecision precision) => Forward(x, mask, null, precision);

    /// <summary><see cref="forward(Tensor, Tensor, ComputePrecision)"/> with what the mask was computed from, so that it is analysed from its orders.</summary>
    internal Tensor Forward(Tensor x, Tensor mask, MaskSource? source, ComputePrecision precision)
    {
        Validate(x, mask);
        ArgumentNullException.ThrowIfNull(precision);
        precision.CheckParameters((_weight ?? _weightV)!.dtype, nameof(precision));
        using var scope = NewDisposeScope();
        return LocallyMaskedConvolution.Apply(x, mask, source, EffectiveWeight(), _bias, _maskWeight, KernelSize, Dilation, Planning, precision)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The convolution weight actually applied (O, C, k, k): <c>weight</c>, or <c>weight_g * weight_v / ||weight_v||</c>.
    /// Differentiable with respect to the parameters.
    /// </summary>
    /// <returns>A tensor of the parameters' device and dtype.</returns>
    public Tensor EffectiveWeight()
    {
        using var scope = NewDisposeScope();
        Tensor w;
        if (_weightV is not null)
        {
            var norm = _weightV.Squared().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
            w = _weightG! * _weightV / norm;
        }
        else
        {
            w = _weight!.alias();
        }

        return w.MoveToOuterDisposeScope();
    }

    private void Validate(Tensor x, Tensor mask)
    {
        var parameterType = (_weight ?? _weightV)!.dtype;
        LocallyMaskedConvolution.CheckInputs(x, mask, InChannels, KernelSize, parameterType, "the layer's");
    }
}
