using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The bias of a role's convolutions at one step when it depends on the mask: bias + mask columns (1 or N, k*k) times
/// the stacked mask-dependent weights (k*k, sum of O), one product for all of them.
/// </summary>
internal sealed class RoleTerms
{
    private readonly Tensor? _bias;
    private readonly Dictionary<PixelConvolution, int> _index = new(ReferenceEqualityComparer.Instance);
    private readonly long[] _sizes;
    private readonly long[] _offsets;
    private Tensor[] _slices = Array.Empty<Tensor>();

    /// <summary>Stacks the terms of convolutions of one role and attaches them to each.</summary>
    /// <param name="convolutions">The convolutions, all of one role.</param>
    /// <param name="weights">Their mask-dependent weights side by side, (k*k, sum of O).</param>
    /// <param name="bias">Their biases side by side (sum of O), or null.</param>
    public RoleTerms(IReadOnlyList<PixelConvolution> convolutions, Tensor weights, Tensor? bias)
    {
        Role = convolutions[0].Role;
        Weights = weights;
        _bias = bias;
        _sizes = convolutions.Select(c => (long)c.Module.OutChannels).ToArray();
        _offsets = new long[_sizes.Length];
        for (int i = 1; i < _sizes.Length; i++) _offsets[i] = _offsets[i - 1] + _sizes[i - 1];
        for (int i = 0; i < convolutions.Count; i++)
        {
            _index[convolutions[i]] = i;
            convolutions[i].Terms = this;
        }
    }

    public MaskRole Role { get; }

    /// <summary>The output channels of all the role's convolutions, sum of O.</summary>
    public long Width => _offsets[^1] + _sizes[^1];

    /// <summary>The mask-dependent weights, (k*k, sum of O).</summary>
    public Tensor Weights { get; }

    /// <summary>This step's terms of all the role's convolutions, (1 or N, sum of O).</summary>
    public Tensor All { get; private set; } = null!;

    /// <summary>Sets this step's terms from their product with the step's mask columns (bias not yet added, or null when there is none).</summary>
    /// <param name="product">The step's terms: bias + columns x <see cref="Weights"/>, computed by the caller's product.</param>
    public void Set(Tensor product)
    {
        All = product;
        _slices = _sizes.Length == 1 ? new[] { All } : All.split(_sizes, 1);
    }

    /// <summary>The biases side by side, or null.</summary>
    public Tensor? Bias => _bias;

    public Tensor Slice(PixelConvolution conv) => _slices[_index[conv]];

    /// <summary>Where a convolution's columns begin in <see cref="All"/>.</summary>
    public long Offset(PixelConvolution conv) => _offsets[_index[conv]];
}
