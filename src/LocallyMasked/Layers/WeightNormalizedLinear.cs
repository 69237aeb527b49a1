using LocallyMasked.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// A fully connected layer with weight normalization (Salimans and Kingma 2016): weight = g * v / ||v||,
/// the norm taken over each output row. The parameters are stored as <c>weight_v</c> (out, in),
/// <c>weight_g</c> (out, 1) and <c>bias</c> (out), the layout PyTorch's <c>nn.utils.weight_norm</c> gives
/// an <c>nn.Linear</c>, so published checkpoints load by name.
/// </summary>
public sealed class WeightNormalizedLinear : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight_v")]
    private readonly Parameter _direction;

    [ComponentName(Name = "weight_g")]
    private readonly Parameter _magnitude;

    [ComponentName(Name = "bias")]
    private readonly Parameter _bias;

    /// <summary>Creates the layer with PyTorch's <c>nn.Linear</c> initialization and g = ||v|| (so weight = v at first).</summary>
    /// <param name="inFeatures">Input features (&gt;= 1).</param>
    /// <param name="outFeatures">Output features (&gt;= 1).</param>
    /// <param name="device">Device of the parameters; the default device when null.</param>
    /// <param name="dtype">Element type of the parameters; the default dtype when null.</param>
    public WeightNormalizedLinear(int inFeatures, int outFeatures, Device? device = null, ScalarType? dtype = null)
        : base(nameof(WeightNormalizedLinear))
    {
        if (inFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "Expected at least one input feature.");
        if (outFeatures < 1) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "Expected at least one output feature.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // Built outside any caller's dispose scope: parameters must outlive it.
        using (no_grad())
        {
            var v = empty(new long[] { outFeatures, inFeatures }, dtype: dtype, device: device);
            var bound = 1.0 / Math.Sqrt(inFeatures);
            nn.init.uniform_(v, -bound, bound);
            var g = v.norm(1, keepdim: true);
            var b = empty(new long[] { outFeatures }, dtype: dtype, device: device);
            nn.init.uniform_(b, -bound, bound);
            _direction = new Parameter(v.DetachFromDisposeScope(), requires_grad: true);
            _magnitude = new Parameter(g.DetachFromDisposeScope(), requires_grad: true);
            _bias = new Parameter(b.DetachFromDisposeScope(), requires_grad: true);
        }
        RegisterComponents();
    }

    /// <summary>Number of input features.</summary>
    public int InFeatures { get; }

    /// <summary>Number of output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The normalized weight g * v / ||v|| of shape (out, in), differentiable in g and v.</summary>
    public Tensor EffectiveWeight()
    {
        using var scope = NewDisposeScope();
        var norm = _direction.norm(1, keepdim: true);
        return (_magnitude * _direction / norm).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the layer to the last dimension of <paramref name="x"/>.</summary>
    /// <param name="x">Input of shape (..., in).</param>
    /// <returns>Output of shape (..., out).</returns>
    public override Tensor forward(Tensor x) => Forward(x, ComputePrecision.Float32);

    /// <summary><see cref="forward"/> with its product in <paramref name="precision"/> (the bias added in the parameters' dtype).</summary>
    internal Tensor Forward(Tensor x, ComputePrecision precision)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(precision);
        if (x.dim() < 1 || x.shape[^1] != InFeatures)
            throw new ArgumentException($"Expected input with last dimension {InFeatures}, got ({string.Join(", ", x.shape)}).", nameof(x));
        precision.CheckParameters(_direction.dtype, nameof(precision));
        using var scope = NewDisposeScope();
        if (!precision.IsMixed) return nn.functional.linear(x, EffectiveWeight(), _bias).MoveToOuterDisposeScope();
        var product = nn.functional.linear(precision.Operand(x), precision.Operand(EffectiveWeight()));
        return ComputePrecision.Result(product, _bias.dtype, _bias).MoveToOuterDisposeScope();
    }
}
