using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The "network in network" layer of PixelCNN++: a weight-normalized 1x1 convolution, written as a
/// <see cref="WeightNormalizedLinear"/> named <c>lin_a</c> applied to every pixel's channel vector
/// (state-dict keys <c>lin_a.weight_v</c>, <c>lin_a.weight_g</c>, <c>lin_a.bias</c>).
/// </summary>
public sealed class NetworkInNetwork : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "lin_a")]
    private readonly WeightNormalizedLinear _linear;

    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public NetworkInNetwork(int inChannels, int outChannels, Device? device = null, ScalarType? dtype = null)
        : base(nameof(NetworkInNetwork))
    {
        _linear = new WeightNormalizedLinear(inChannels, outChannels, device, dtype);
        RegisterComponents();
    }

    /// <summary>Input channels.</summary>
    public int InChannels => _linear.InFeatures;

    /// <summary>Output channels.</summary>
    public int OutChannels => _linear.OutFeatures;

    /// <summary>The inner weight-normalized linear layer (shared with per-pixel evaluation).</summary>
    public WeightNormalizedLinear Linear => _linear;

    /// <summary>Applies the 1x1 layer over dimension 1.</summary>
    /// <param name="x">Input of shape (N, in, ...) (any number of trailing spatial dimensions, including none).</param>
    /// <returns>Output of shape (N, out, ...).</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with its product in <paramref name="precision"/>.</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2 || x.shape[1] != InChannels)
            throw new ArgumentException($"Expected input of shape (N, {InChannels}, ...), got ({string.Join(", ", x.shape)}).", nameof(x));
        using var scope = NewDisposeScope();
        return _linear.Forward(x.movedim(new long[] { 1 }, new long[] { -1 }), precision).movedim(new long[] { -1 }, new long[] { 1 }).MoveToOuterDisposeScope();
    }
}
