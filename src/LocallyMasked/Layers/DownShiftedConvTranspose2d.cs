using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The down-shifted transposed convolution of PixelCNN++ (upsampling of the "u" stream): a weight-normalized
/// transposed convolution (component <c>deconv</c>: keys <c>deconv.bias</c>, <c>deconv.weight_g</c> (in, 1, 1, 1),
/// <c>deconv.weight_v</c> (in, out, kh, kw)) with output padding 1, whose output is cropped to its first
/// rows - kh + 1 rows and to the columns (kw - 1) / 2 .. cols - (kw - 1) / 2, so that an H x W input becomes
/// stride*H x stride*W and output row i only sees input rows at or above row i / stride.
/// </summary>
public sealed class DownShiftedConvTranspose2d : nn.Module<Tensor, Tensor>, IShiftedConvolution
{
    [ComponentName(Name = "deconv")]
    private readonly WeightNormalizedConvTranspose2d _deconv;

    /// <summary>Creates the layer (PixelCNN++ uses the defaults: kernel 2 x 3, stride 2).</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelHeight">Kernel rows.</param>
    /// <param name="kernelWidth">Kernel columns, odd.</param>
    /// <param name="stride">Stride along both axes, at least 2 (the output padding is 1).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public DownShiftedConvTranspose2d(int inChannels, int outChannels, int kernelHeight = 2, int kernelWidth = 3, int stride = 2,
        Device? device = null, ScalarType? dtype = null)
        : base(nameof(DownShiftedConvTranspose2d))
    {
        if (kernelWidth < 1 || kernelWidth % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "Expected an odd kernel width (the crop is centred).");
        if (stride < 2)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "Expected a stride of at least 2 (the output padding of 1 must be below the stride).");
        _deconv = new WeightNormalizedConvTranspose2d(inChannels, outChannels, kernelHeight, kernelWidth, stride, outputPadding: 1, device, dtype);
        RegisterComponents();
    }

    /// <summary>The inner weight-normalized transposed convolution (<c>deconv</c>).</summary>
    public WeightNormalizedConvTranspose2d Convolution => _deconv;

    /// <summary>Upsamples and crops.</summary>
    /// <param name="x">Input (N, in, H, W).</param>
    /// <returns>Output (N, out, (H - 1) * stride + 2, (W - 1) * stride + 2): 2H x 2W for stride 2.</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    Tensor IShiftedConvolution.Forward(Tensor x, ComputePrecision precision) => Forward(x, precision);

    /// <summary><see cref="forward"/> with the transposed convolution in <paramref name="precision"/>.</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4 || x.shape[1] != _deconv.InChannels)
            throw new ArgumentException($"Expected input of shape (N, {_deconv.InChannels}, H, W), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        var y = _deconv.Forward(x, precision);
        long rows = y.shape[2] - _deconv.KernelHeight + 1;
        long side = (_deconv.KernelWidth - 1) / 2;
        return y.narrow(2, 0, rows).narrow(3, side, y.shape[3] - 2 * side).MoveToOuterDisposeScope();
    }
}
