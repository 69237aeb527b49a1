using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The gated residual block of PixelCNN++ (the authors' <c>gated_resnet</c> with shifted convolutions; state-dict keys
/// <c>conv_input.conv.*</c>, <c>nin_skip.lin_a.*</c> when it has a skip input, <c>conv_out.conv.*</c>). For input u
/// and optional skip input a: t = conv_input(concat_elu(u)); if a is given t += nin_skip(concat_elu(a));
/// t = conv_out(dropout2d(concat_elu(t))); (p, q) = the two channel halves of t; result u + p * sigmoid(q).
/// Both convolutions are <see cref="DownShiftedConv2d"/> in the <see cref="ShiftedStream.Above"/> stream and
/// <see cref="DownRightShiftedConv2d"/> in the <see cref="ShiftedStream.AboveAndLeft"/> stream. Unlike the locally
/// masked model's <see cref="GatedResidualBlock"/> there is no feature normalization: only weight normalization.
/// </summary>
public sealed class ShiftedGatedResidualBlock : nn.Module<Tensor, Tensor?, Tensor>
{
    [ComponentName(Name = "conv_input")]
    private readonly nn.Module<Tensor, Tensor> _convInput;

    [ComponentName(Name = "nin_skip")]
    private readonly NetworkInNetwork? _skip;

    [ComponentName(Name = "conv_out")]
    private readonly nn.Module<Tensor, Tensor> _convOut;

    /// <summary>Creates the block.</summary>
    /// <param name="filters">Channels of the input and the output (F).</param>
    /// <param name="stream">Which shifted convolution the block uses.</param>
    /// <param name="skipChannels">Channels of the skip input: 0 for none, F (the authors' skip_connection=1) or 2F (skip_connection=2, two streams concatenated).</param>
    /// <param name="dropout">Channel dropout probability in [0, 1) applied before conv_out in training mode (the authors' baseline: 0.5).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public ShiftedGatedResidualBlock(int filters, ShiftedStream stream, int skipChannels, double dropout,
        Device? device = null, ScalarType? dtype = null)
        : base(nameof(ShiftedGatedResidualBlock))
    {
        if (filters < 1) throw new ArgumentOutOfRangeException(nameof(filters), filters, "Expected at least one filter.");
        if (!Enum.IsDefined(stream)) throw new ArgumentOutOfRangeException(nameof(stream), stream, "Unknown stream.");
        if (skipChannels < 0) throw new ArgumentOutOfRangeException(nameof(skipChannels), skipChannels, "Expected 0 (no skip input) or a positive channel count.");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Expected a dropout probability in [0, 1).");
        Filters = filters;
        Stream = stream;
        SkipChannels = skipChannels;
        Dropout = dropout;
        _convInput = Convolution(stream, 2 * filters, filters, device, dtype);
        if (skipChannels > 0) _skip = new NetworkInNetwork(2 * skipChannels, filters, device, dtype);
        _convOut = Convolution(stream, 2 * filters, 2 * filters, device, dtype);
        RegisterComponents();
    }

    /// <summary>Channels of the input and output (F).</summary>
    public int Filters { get; }

    /// <summary>The stream whose shifted convolutions the block uses.</summary>
    public ShiftedStream Stream { get; }

    /// <summary>Channels of the skip input; 0 when the block has none.</summary>
    public int SkipChannels { get; }

    /// <summary>Channel dropout probability used in training mode.</summary>
    public double Dropout { get; }

    /// <summary>Whether the block takes a skip input.</summary>
    public bool HasSkipInput => _skip is not null;

    /// <summary>Applies the block.</summary>
    /// <param name="u">Input (N, F, H, W).</param>
    /// <param name="skip">Skip input (N, <see cref="SkipChannels"/>, H, W), required exactly when <see cref="HasSkipInput"/>; otherwise null.</param>
    /// <returns>Output (N, F, H, W).</returns>
    public override Tensor forward(Tensor u, Tensor? skip) => Forward(u, skip, null, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with the generator the dropout draws from (null: torch's global generator) and the
    /// precision of the convolutions and the skip layer.</summary>
    internal Tensor Forward(Tensor u, Tensor? skip, Generator? dropout, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(u);
        if (u.dim() != 4 || u.shape[1] != Filters)
            throw new ArgumentException($"Expected input of shape (N, {Filters}, H, W), got ({string.Join(", ", u.shape)}).", nameof(u));
        if (HasSkipInput && skip is null)
            throw new ArgumentException($"This block has a skip connection: a skip input with {SkipChannels} channels is required.", nameof(skip));
        if (!HasSkipInput && skip is not null)
            throw new ArgumentException("This block has no skip connection: the skip input must be null.", nameof(skip));
        if (skip is not null && (skip.dim() != 4 || skip.shape[0] != u.shape[0] || skip.shape[1] != SkipChannels
            || skip.shape[2] != u.shape[2] || skip.shape[3] != u.shape[3]))
        {
            throw new ArgumentException(
                $"Expected a skip input of shape ({u.shape[0]}, {SkipChannels}, {u.shape[2]}, {u.shape[3]}), got ({string.Join(", ", skip.shape)}).", nameof(skip));
        }

        using var scope = NewDisposeScope();
        var t = ((IShiftedConvolution)_convInput).Forward(ConcatElu.Apply(u), precision);
        if (skip is not null) t = t.Plus(_skip!.Forward(ConcatElu.Apply(skip), precision));
        t = ConcatElu.Apply(t);
        if (training && Dropout > 0) t = ChannelDropout.Apply(t, Dropout, dropout);
        t = ((IShiftedConvolution)_convOut).Forward(t, precision);
        var halves = t.chunk(2, 1);
        return u.Plus(halves[0] * halves[1].sigmoid()).MoveToOuterDisposeScope();
    }

    private static nn.Module<Tensor, Tensor> Convolution(ShiftedStream stream, int inChannels, int outChannels, Device? device, ScalarType? dtype) =>
        stream == ShiftedStream.Above
            ? new DownShiftedConv2d(inChannels, outChannels, device: device, dtype: dtype)
            : new DownRightShiftedConv2d(inChannels, outChannels, device: device, dtype: dtype);
}
