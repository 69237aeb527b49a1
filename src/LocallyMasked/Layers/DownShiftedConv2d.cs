using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The down-shifted convolution of PixelCNN++ (the vertical "u" stream, which sees the rows above): the input is
/// zero-padded by kh - 1 rows on top and (kw - 1) / 2 columns on each side, then a weight-normalized convolution
/// (component <c>conv</c>: keys <c>conv.bias</c>, <c>conv.weight_g</c>, <c>conv.weight_v</c>) runs without padding,
/// so output row i sees input rows i - kh + 1 .. i (times the stride). With <see cref="ShiftsOutputDown"/> the
/// output is then moved down by one row (<see cref="DownShift"/>), so that row i sees only rows above it: the first
/// layer of the network.
/// </summary>
public sealed class DownShiftedConv2d : nn.Module<Tensor, Tensor>, IShiftedConvolution
{
    [ComponentName(Name = "conv")]
    private readonly WeightNormalizedConv2d _conv;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelHeight">Kernel rows (2 in PixelCNN++; 1 for the first layer's one-row part).</param>
    /// <param name="kernelWidth">Kernel columns, odd (3 in PixelCNN++).</param>
    /// <param name="stride">Stride along both axes (2 for the downsampling layers).</param>
    /// <param name="shiftOutputDown">Move the output down by one row after the convolution.</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public DownShiftedConv2d(int inChannels, int outChannels, int kernelHeight = 2, int kernelWidth = 3, int stride = 1,
        bool shiftOutputDown = false, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DownShiftedConv2d))
    {
        if (kernelWidth < 1 || kernelWidth % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "Expected an odd kernel width (the padding is centred).");
        _conv = new WeightNormalizedConv2d(inChannels, outChannels, kernelHeight, kernelWidth, stride, device, dtype);
        ShiftsOutputDown = shiftOutputDown;
        RegisterComponents();
    }

    /// <summary>Whether the output is moved down by one row.</summary>
    public bool ShiftsOutputDown { get; }

    /// <summary>The inner weight-normalized convolution (<c>conv</c>).</summary>
    public WeightNormalizedConv2d Convolution => _conv;

    /// <summary>Pads, convolves and optionally shifts down.</summary>
    /// <param name="x">Input (N, in, H, W).</param>
    /// <returns>Output (N, out, ceil(H / stride), ceil(W / stride)).</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    Tensor IShiftedConvolution.Forward(Tensor x, ComputePrecision precision) => Forward(x, precision);

    /// <summary><see cref="forward"/> with the convolution in <paramref name="precision"/>.</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4 || x.shape[1] != _conv.InChannels)
            throw new ArgumentException($"Expected input of shape (N, {_conv.InChannels}, H, W), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        long side = (_conv.KernelWidth - 1) / 2;
        var padded = nn.functional.pad(x, new long[] { side, side, _conv.KernelHeight - 1, 0 });
        var y = _conv.Forward(padded, precision);
        return (ShiftsOutputDown ? DownShift(y) : y).MoveToOuterDisposeScope();
    }

    /// <summary>Moves features down by one row: the last row is dropped and a row of zeros enters at the top.</summary>
    /// <param name="x">Features (N, C, H, W).</param>
    /// <returns>Features (N, C, H, W) with out[:, :, 0] = 0 and out[:, :, i] = x[:, :, i - 1].</returns>
    public static Tensor DownShift(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4) throw new ArgumentException($"Expected features of shape (N, C, H, W), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        return nn.functional.pad(x.narrow(2, 0, x.shape[2] - 1), new long[] { 0, 0, 1, 0 }).MoveToOuterDisposeScope();
    }
}
