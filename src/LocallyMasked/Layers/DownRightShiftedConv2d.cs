using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The down-right-shifted convolution of PixelCNN++ (the "ul" stream, which sees the rows above and the pixels to
/// the left): the input is zero-padded by kh - 1 rows on top and kw - 1 columns on the left, then a
/// weight-normalized convolution (component <c>conv</c>) runs without padding, so output (i, j) sees inputs
/// (i - kh + 1 .. i, j - kw + 1 .. j). With <see cref="ShiftsOutputRight"/> the output is then moved right by one
/// column (<see cref="RightShift"/>), so that (i, j) sees only columns left of j: the first layer's horizontal part.
/// </summary>
public sealed class DownRightShiftedConv2d : nn.Module<Tensor, Tensor>, IShiftedConvolution
{
    [ComponentName(Name = "conv")]
    private readonly WeightNormalizedConv2d _conv;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="kernelHeight">Kernel rows (2 in PixelCNN++).</param>
    /// <param name="kernelWidth">Kernel columns (2 in PixelCNN++; 1 for the first layer's part).</param>
    /// <param name="stride">Stride along both axes (2 for the downsampling layers).</param>
    /// <param name="shiftOutputRight">Move the output right by one column after the convolution.</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public DownRightShiftedConv2d(int inChannels, int outChannels, int kernelHeight = 2, int kernelWidth = 2, int stride = 1,
        bool shiftOutputRight = false, Device? device = null, ScalarType? dtype = null)
        : base(nameof(DownRightShiftedConv2d))
    {
        _conv = new WeightNormalizedConv2d(inChannels, outChannels, kernelHeight, kernelWidth, stride, device, dtype);
        ShiftsOutputRight = shiftOutputRight;
        RegisterComponents();
    }

    /// <summary>Whether the output is moved right by one column.</summary>
    public bool ShiftsOutputRight { get; }

    /// <summary>The inner weight-normalized convolution (<c>conv</c>).</summary>
    public WeightNormalizedConv2d Convolution => _conv;

    /// <summary>Pads, convolves and optionally shifts right.</summary>
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
        var padded = nn.functional.pad(x, new long[] { _conv.KernelWidth - 1, 0, _conv.KernelHeight - 1, 0 });
        var y = _conv.Forward(padded, precision);
        return (ShiftsOutputRight ? RightShift(y) : y).MoveToOuterDisposeScope();
    }

    /// <summary>Moves features right by one column: the last column is dropped and a column of zeros enters on the left.</summary>
    /// <param name="x">Features (N, C, H, W).</param>
    /// <returns>Features (N, C, H, W) with out[..., 0] = 0 and out[..., j] = x[..., j - 1].</returns>
    public static Tensor RightShift(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 4) throw new ArgumentException($"Expected features of shape (N, C, H, W), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        return nn.functional.pad(x.narrow(3, 0, x.shape[3] - 1), new long[] { 1, 0, 0, 0 }).MoveToOuterDisposeScope();
    }
}
