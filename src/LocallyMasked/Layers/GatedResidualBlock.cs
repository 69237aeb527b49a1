using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The gated residual block of the Locally Masked PixelCNN++ (state-dict keys <c>conv_input.*</c>,
/// <c>conv_out.*</c> and, with a skip input, <c>nin_skip.lin_a.*</c>). For input u and optional skip a:
/// t = norm(conv_input(concat_elu(u))); if a is given t += nin_skip(concat_elu(a));
/// t = conv_out(dropout2d(concat_elu(t))); (p, q) = halves of t; result u + norm(p) * sigmoid(q).
/// "norm" is the block's <see cref="Normalization"/> (positional normalization for the published models; the identity
/// for schemes without feature normalization).
/// </summary>
public sealed class GatedResidualBlock : nn.Module<Tensor, Tensor?, Tensor, Tensor>
{
    [ComponentName(Name = "conv_input")]
    private readonly LocallyMaskedConv2d _convInput;

    [ComponentName(Name = "nin_skip")]
    private readonly NetworkInNetwork? _skip;

    [ComponentName(Name = "conv_out")]
    private readonly LocallyMaskedConv2d _convOut;

    /// <summary>Creates the block.</summary>
    /// <param name="filters">Channels of the input, the skip input and the output (F).</param>
    /// <param name="hasSkipInput">Whether the block takes a skip input through a 1x1 weight-normalized layer (down pass).</param>
    /// <param name="kernelSize">Kernel side of both convolutions (odd).</param>
    /// <param name="normalization">The feature normalization after conv_input and of the gate's value half; with
    /// <see cref="FeatureNormalization.WeightNorm"/> both convolutions are weight-normalized instead.</param>
    /// <param name="dropout">Channel dropout probability in [0, 1) applied before conv_out during training.</param>
    /// <param name="bias">Whether the convolutions have a bias.</param>
    /// <param name="maskWeight">Whether the convolutions learn a mask weight (see <see cref="LocallyMaskedConv2d.mask_weight"/>).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    /// <param name="planning">What chooses the convolutions' computation paths; <see cref="PlanningPolicy.Deterministic"/> when null.</param>
    public GatedResidualBlock(int filters, bool hasSkipInput, int kernelSize, FeatureNormalization normalization,
        double dropout, bool bias, bool maskWeight, Device? device = null, ScalarType? dtype = null, PlanningPolicy? planning = null)
        : base(nameof(GatedResidualBlock))
    {
        if (filters < 2) throw new ArgumentOutOfRangeException(nameof(filters), filters, "Expected at least 2 filters.");
        if (!(dropout >= 0 && dropout < 1)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Expected a dropout probability in [0, 1).");
        Filters = filters;
        Dropout = dropout;
        if (!Enum.IsDefined(normalization)) throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "Unknown feature normalization.");
        Normalization = normalization;
        bool weightNormalization = normalization == FeatureNormalization.WeightNorm;
        _convInput = new LocallyMaskedConv2d(2 * filters, filters, kernelSize, 1, bias, maskWeight, weightNormalization, device, dtype, planning);
        if (hasSkipInput) _skip = new NetworkInNetwork(2 * filters, filters, device, dtype);
        _convOut = new LocallyMaskedConv2d(2 * filters, 2 * filters, kernelSize, 1, bias, maskWeight, weightNormalization, device, dtype, planning);
        RegisterComponents();
    }

    /// <summary>Channels of the input and output.</summary>
    public int Filters { get; }

    /// <summary>Channel dropout probability used in training mode.</summary>
    public double Dropout { get; }

    /// <summary>The feature normalization applied inside the block.</summary>
    public FeatureNormalization Normalization { get; }

    /// <summary>Whether the block takes a skip input.</summary>
    public bool HasSkipInput => _skip is not null;

    /// <summary>The first masked convolution (2F -&gt; F).</summary>
    public LocallyMaskedConv2d InputConvolution => _convInput;

    /// <summary>The second masked convolution (2F -&gt; 2F), producing the gate's value and gate halves.</summary>
    public LocallyMaskedConv2d OutputConvolution => _convOut;

    /// <summary>The 1x1 layer applied to the skip input, or null when the block has none.</summary>
    public NetworkInNetwork? SkipLayer => _skip;

    /// <summary>Applies the block.</summary>
    /// <param name="u">Input (N, F, H, W).</param>
    /// <param name="skip">Skip input (N, F, H, W), required exactly when <see cref="HasSkipInput"/>; otherwise null.</param>
    /// <param name="mask">Mask of type B for both convolutions: (k*k, H*W) shared, or (N, k*k, H*W) per sample.</param>
    /// <returns>Output (N, F, H, W).</returns>
    public override Tensor forward(Tensor u, Tensor? skip, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(u);
        ArgumentNullException.ThrowIfNull(mask);
        if (u.dim() != 4 || u.shape[1] != Filters)
            throw new ArgumentException($"Expected input of shape (N, {Filters}, H, W), got ({string.Join(", ", u.shape)}).", nameof(u));
        if (HasSkipInput && skip is null)
            throw new ArgumentException("This block has a skip connection: a skip input is required.", nameof(skip));
        if (!HasSkipInput && skip is not null)
            throw new ArgumentException("This block has no skip connection: the skip input must be null.", nameof(skip));
        if (skip is not null && !skip.shape.SequenceEqual(u.shape))
            throw new ArgumentException($"Expected a skip input of shape ({string.Join(", ", u.shape)}), got ({string.Join(", ", skip.shape)}).", nameof(skip));

        using var scope = NewDisposeScope();
        return Evaluate(u, skip, new FeatureMapLayers(mask, mask, mask)).MoveToOuterDisposeScope();
    }

    /// <summary>The block's wiring, every operation applied by <paramref name="layers"/>.</summary>
    /// <param name="u">Input (N, F[, H, W]).</param>
    /// <param name="skip">Skip input of the same shape, or null.</param>
    /// <param name="layers">Where the block is evaluated (feature maps or single pixels).</param>
    internal Tensor Evaluate(Tensor u, Tensor? skip, ILayerEvaluator layers)
    {
        var t = layers.Normalize(layers.Convolve(_convInput, layers.ConcatElu(u), MaskRole.Undilated), Normalization, MaskRole.Undilated);
        if (skip is not null) t = layers.Skip(t, _skip!, skip);
        var gate = layers.Convolve(_convOut, layers.Dropout(this, layers.ConcatElu(t)), MaskRole.Undilated);
        return layers.Gate(u, gate, Normalization, MaskRole.Undilated);
    }
}
