using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// A 2-D convolution with weight normalization (Salimans and Kingma 2016) and no padding of its own:
/// weight = g * v / ||v||, the norm taken over everything but the output channel. The parameters are stored as
/// <c>bias</c> (out), <c>weight_g</c> (out, 1, 1, 1) and <c>weight_v</c> (out, in, kh, kw), the layout PyTorch's
/// <c>nn.utils.weight_norm</c> gives an <c>nn.Conv2d</c>, so that PixelCNN++ checkpoints load by name.
/// </summary>
public sealed class WeightNormalizedConv2d : nn.Module<Tensor, Tensor>
{
    // Declared in the order PyTorch registers them after weight_norm (bias stays, weight_g and weight_v are appended).
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    [ComponentName(Name = "weight_g")]
    private readonly Parameter _magnitude;

    [ComponentName(Name = "weight_v")]
    private readonly Parameter _direction;

    /// <summary>Creates the layer with PyTorch's <c>nn.Conv2d</c> initialization and g = ||v|| (so weight = v at first).</summary>
    /// <param name="inChannels">Input channels (&gt;= 1).</param>
    /// <param name="outChannels">Output channels (&gt;= 1).</param>
    /// <param name="kernelHeight">Kernel rows (&gt;= 1).</param>
    /// <param name="kernelWidth">Kernel columns (&gt;= 1).</param>
    /// <param name="stride">Stride along both axes (&gt;= 1).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public WeightNormalizedConv2d(int inChannels, int outChannels, int kernelHeight, int kernelWidth, int stride = 1,
        Device? device = null, ScalarType? dtype = null)
        : base(nameof(WeightNormalizedConv2d))
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "Expected at least one input channel.");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "Expected at least one output channel.");
        if (kernelHeight < 1) throw new ArgumentOutOfRangeException(nameof(kernelHeight), kernelHeight, "Expected a kernel height of at least 1.");
        if (kernelWidth < 1) throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "Expected a kernel width of at least 1.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "Expected a stride of at least 1.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        Stride = stride;
        // Built outside any caller's dispose scope: parameters must outlive it.
        using (no_grad())
        {
            // PyTorch's default: kaiming_uniform_(a = sqrt(5)) and a bias of the same bound, 1 / sqrt(fan_in).
            double bound = 1.0 / Math.Sqrt(inChannels * kernelHeight * kernelWidth);
            var v = empty(new long[] { outChannels, inChannels, kernelHeight, kernelWidth }, dtype: dtype, device: device);
            nn.init.uniform_(v, -bound, bound);
            var g = v.Squared().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
            var b = empty(new long[] { outChannels }, dtype: dtype, device: device);
            nn.init.uniform_(b, -bound, bound);
            _bias = new Parameter(b.DetachFromDisposeScope(), requires_grad: true);
            _magnitude = new Parameter(g.DetachFromDisposeScope(), requires_grad: true);
            _direction = new Parameter(v.DetachFromDisposeScope(), requires_grad: true);
        }
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel rows.</summary>
    public int KernelHeight { get; }

    /// <summary>Kernel columns.</summary>
    public int KernelWidth { get; }

    /// <summary>Stride along both axes.</summary>
    public int Stride { get; }

    /// <summary>The normalized weight g * v / ||v|| of shape (out, in, kh, kw), differentiable in g and v.</summary>
    public Tensor EffectiveWeight()
    {
        using var scope = NewDisposeScope();
        var norm = _direction.Squared().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
        return (_magnitude * _direction / norm).MoveToOuterDisposeScope();
    }

    /// <summary>Convolves without padding.</summary>
    /// <param name="x">Input (N, in, H, W) with H &gt;= kh and W &gt;= kw, in the parameters' dtype and device.</param>
    /// <returns>Output (N, out, (H - kh) / stride + 1, (W - kw) / stride + 1).</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the convolution in <paramref name="precision"/> (the bias added in the parameters' dtype).</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(precision);
        if (x.dim() != 4 || x.shape[1] != InChannels || x.shape[2] < KernelHeight || x.shape[3] < KernelWidth)
            throw new ArgumentException(
                $"Expected input of shape (N, {InChannels}, H >= {KernelHeight}, W >= {KernelWidth}), got ({string.Join(", ", x.shape)}).", nameof(x));
        ShiftedLayerChecks.SameDtypeAndDevice(x, _direction, nameof(x));
        precision.CheckParameters(_direction.dtype, nameof(precision));
        using var scope = NewDisposeScope();
        if (!precision.IsMixed)
            return nn.functional.conv2d(x, EffectiveWeight(), _bias, strides: new long[] { Stride, Stride }).MoveToOuterDisposeScope();
        var product = nn.functional.conv2d(precision.Operand(x), precision.Operand(EffectiveWeight()), null, strides: new long[] { Stride, Stride });
        return ComputePrecision.Result(product, _bias.dtype, _bias.view(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }
}
