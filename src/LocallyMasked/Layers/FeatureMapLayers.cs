using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The modules' own operations on whole feature maps (N, C, H, W), with one mask per role: what <c>forward</c> runs.
/// Dropout draws from the generator given (torch's global generator when none is). The convolutions, skip layers and
/// output head multiply in the compute precision given (<see cref="ComputePrecision.Float32"/> when none is).
/// </summary>
internal sealed class FeatureMapLayers : ILayerEvaluator
{
    private readonly Tensor _first;
    private readonly Tensor _undilated;
    private readonly Tensor _dilated;
    private readonly MaskSet? _masks;
    private readonly Generator? _dropout;
    private readonly ComputePrecision _precision;

    /// <summary>Evaluates with the three masks of a mask set (analysed from their orders where they have them).</summary>
    public FeatureMapLayers(MaskSet masks, Generator? dropout = null, ComputePrecision? precision = null)
        : this(masks.First, masks.Undilated, masks.Dilated, precision)
    {
        _masks = masks;
        _dropout = dropout;
    }

    /// <summary>Evaluates with the given mask for each role.</summary>
    public FeatureMapLayers(Tensor first, Tensor undilated, Tensor dilated, ComputePrecision? precision = null)
    {
        _first = first;
        _undilated = undilated;
        _dilated = dilated;
        _precision = precision ?? ComputePrecision.Float32;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role) => conv.Forward(input, MaskOf(role), _masks?.SourceOf(role), _precision);

    public Tensor ConcatElu(Tensor input) => Layers.ConcatElu.Apply(input);

    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => normalization switch
    {
        FeatureNormalization.Pono => PositionalNormalization.Apply(input),
        FeatureNormalization.OrderRescale => input / VisibleTaps(MaskOf(role), input),
        _ => input,
    };

    /// <summary>The number of taps each location's mask lets it see, as (1 or N, 1, H, W) for dividing features.</summary>
    internal static Tensor VisibleTaps(Tensor mask, Tensor features)
    {
        using var scope = NewDisposeScope();
        var counts = mask.to(features.dtype, features.device).sum(dim: -2);
        return counts.view(mask.dim() == 3 ? mask.shape[0] : 1, 1, features.shape[2], features.shape[3]).MoveToOuterDisposeScope();
    }

    public Tensor Dropout(GatedResidualBlock block, Tensor input) =>
        block.Dropout > 0 && block.training ? ChannelDropout.Apply(input, block.Dropout, _dropout) : input;

    public Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip) => t.Plus(layer.Forward(Layers.ConcatElu.Apply(skip), _precision));

    public Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role)
    {
        var halves = gate.chunk(2, 1);
        return u.Plus(Normalize(halves[0], normalization, role) * halves[1].sigmoid());
    }

    public Tensor Output(NetworkInNetwork layer, Tensor u) => layer.Forward(u.Elu(), _precision);

    private Tensor MaskOf(MaskRole role) => role switch { MaskRole.First => _first, MaskRole.Dilated => _dilated, _ => _undilated };
}
