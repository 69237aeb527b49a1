using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// A 2-D transposed convolution with weight normalization and no padding of its own. PyTorch's
/// <c>nn.utils.weight_norm</c> normalizes over every dimension but dimension 0, and a transposed convolution's
/// weight is laid out (in, out, kh, kw): so here g has one entry per INPUT channel and the norm is taken over each
/// input channel's (out, kh, kw) slice: weight = g * v / ||v||. Keys: <c>bias</c> (out), <c>weight_g</c>
/// (in, 1, 1, 1), <c>weight_v</c> (in, out, kh, kw), as PyTorch stores a weight-normalized <c>nn.ConvTranspose2d</c>.
/// </summary>
public sealed class WeightNormalizedConvTranspose2d : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    [ComponentName(Name = "weight_g")]
    private readonly Parameter _magnitude;

    [ComponentName(Name = "weight_v")]
    private readonly Parameter _direction;

    /// <summary>Creates the layer with PyTorch's <c>nn.ConvTranspose2d</c> initialization and g = ||v||.</summary>
    /// <param name="inChannels">Input channels (&gt;= 1).</param>
    /// <param name="outChannels">Output channels (&gt;= 1).</param>
    /// <param name="kernelHeight">Kernel rows (&gt;= 1).</param>
    /// <param name="kernelWidth">Kernel columns (&gt;= 1).</param>
    /// <param name="stride">Stride along both axes (&gt;= 1).</param>
    /// <param name="outputPadding">Extra rows and columns added at the bottom and right of the output, 0 &lt;= outputPadding &lt; stride.</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public WeightNormalizedConvTranspose2d(int inChannels, int outChannels, int kernelHeight, int kernelWidth, int stride = 1,
        int outputPadding = 0, Device? device = null, ScalarType? dtype = null)
        : base(nameof(WeightNormalizedConvTranspose2d))
    {
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "Expected at least one input channel.");
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "Expected at least one output channel.");
        if (kernelHeight < 1) throw new ArgumentOutOfRangeException(nameof(kernelHeight), kernelHeight, "Expected a kernel height of at least 1.");
        if (kernelWidth < 1) throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "Expected a kernel width of at least 1.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "Expected a stride of at least 1.");
        if (outputPadding < 0 || outputPadding >= stride)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding, $"Expected an output padding in [0, stride = {stride}).");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        Stride = stride;
        OutputPadding = outputPadding;
        using (no_grad())
        {
            // PyTorch's default for transposed convolutions: fan_in is computed from weight.size(1) = out channels.
            double bound = 1.0 / Math.Sqrt(outChannels * kernelHeight * kernelWidth);
            var v = empty(new long[] { inChannels, outChannels, kernelHeight, kernelWidth }, dtype: dtype, device: device);
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

    /// <summary>Rows and columns added at the bottom and right of the output.</summary>
    public int OutputPadding { get; }

    /// <summary>The normalized weight g * v / ||v|| of shape (in, out, kh, kw), the norm over each input channel's slice.</summary>
    public Tensor EffectiveWeight()
    {
        using var scope = NewDisposeScope();
        var norm = _direction.Squared().sum(new long[] { 1, 2, 3 }, keepdim: true).sqrt();
        return (_magnitude * _direction / norm).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the transposed convolution.</summary>
    /// <param name="x">Input (N, in, H, W) in the parameters' dtype and device.</param>
    /// <returns>Output (N, out, (H - 1) * stride + kh + outputPadding, (W - 1) * stride + kw + outputPadding).</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the transposed convolution in <paramref name="precision"/> (the bias added in the parameters' dtype).</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(precision);
        if (x.dim() != 4 || x.shape[1] != InChannels || x.shape[2] < 1 || x.shape[3] < 1)
            throw new ArgumentException($"Expected input of shape (N, {InChannels}, H, W), got ({string.Join(", ", x.shape)}).", nameof(x));
        ShiftedLayerChecks.SameDtypeAndDevice(x, _direction, nameof(x));
        precision.CheckParameters(_direction.dtype, nameof(precision));
        using var scope = NewDisposeScope();
        if (!precision.IsMixed)
            return nn.functional.conv_transpose2d(x, EffectiveWeight(), _bias, strides: new long[] { Stride, Stride },
                output_padding: new long[] { OutputPadding, OutputPadding }).MoveToOuterDisposeScope();
        var product = nn.functional.conv_transpose2d(precision.Operand(x), precision.Operand(EffectiveWeight()), null, strides: new long[] { Stride, Stride },
            output_padding: new long[] { OutputPadding, OutputPadding });
        return ComputePrecision.Result(product, _bias.dtype, _bias.view(1, -1, 1, 1)).MoveToOuterDisposeScope();
    }
}
