using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The layers evaluated at one pixel per image, on features (N, C). Each convolution keeps a padded cache
/// of its input (N, C_in, padded pixels) that holds values only at processed pixels and zero elsewhere, so
/// gathering the k x k neighbourhood applies the order's mask by construction. Weights are prepared once. What depends
/// on the mask itself rather than on the input (a learned mask weight's term, order rescaling) reads the masks' columns
/// at the step's pixels.
/// </summary>
internal sealed class PixelLayers : ILayerEvaluator
{
    private readonly Dictionary<LocallyMaskedConv2d, (Tensor Weight, Tensor? Bias, Tensor? MaskWeight)> _convolutions = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<MaskRole, Tensor> _maskColumns = new();
    private readonly MaskSet? _masks;
    private Tensor? _pixels;
    private readonly Dictionary<NetworkInNetwork, (Tensor Weight, Tensor Bias)> _linears = new(ReferenceEqualityComparer.Instance);
    private readonly IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> _caches;
    private readonly IReadOnlyDictionary<int, Tensor[]> _neighbourhoods;
    private readonly Tensor[] _positions;
    private readonly long _batch;
    private readonly bool _shared;

    /// <summary>Prepares the weights; call inside the sampling run's dispose scope.</summary>
    /// <param name="caches">Each convolution's input cache.</param>
    /// <param name="linears">The 1x1 layers that will be applied.</param>
    /// <param name="positions">Per step: the padded position of each image's pixel, (N, 1, 1), or (1) when the batch shares one order.</param>
    /// <param name="neighbourhoods">Per dilation and step: the padded positions of the k x k taps, (N, 1, k*k), or (k*k) when shared.</param>
    /// <param name="batch">The number of images N.</param>
    /// <param name="masks">The masks of the orders sampled, needed when a convolution learns a mask weight or the features are
    /// rescaled by the mask (else null).</param>
    public PixelLayers(IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> caches, IEnumerable<NetworkInNetwork> linears,
        Tensor[] positions, IReadOnlyDictionary<int, Tensor[]> neighbourhoods, long batch, MaskSet? masks)
    {
        _masks = masks;
        _caches = caches;
        _positions = positions;
        _neighbourhoods = neighbourhoods;
        _batch = batch;
        _shared = positions.Length > 0 && positions[0].dim() == 1;
        foreach (var conv in caches.Keys)
        {
            // (C_in * k * k, C_out): a patch flattened as (channel, tap) times this is the convolution at one pixel.
            var matrix = conv.EffectiveWeight().detach().reshape(conv.OutChannels, -1).t().contiguous();
            // (T, C_out): a mask column (1 or N, T) times this is the mask weight's term at one pixel.
            var maskWeight = conv.mask_weight?.detach().reshape(conv.OutChannels, -1).t().contiguous();
            _convolutions.Add(conv, (matrix, conv.bias?.detach(), maskWeight));
        }
        foreach (var layer in linears)
        {
            if (_linears.ContainsKey(layer)) continue;
            _linears.Add(layer, (layer.Linear.EffectiveWeight().detach().t().contiguous(), ParameterNamed(layer.Linear, "bias")!));
        }
    }

    /// <summary>The step whose pixels are being evaluated (an index into the position tables).</summary>
    public int Step { get; private set; }

    /// <summary>Moves to a step: its index into the position tables and each image's pixel there, (N, 1, 1).</summary>
    public void SetStep(int step, Tensor pixels)
    {
        Step = step;
        _pixels = pixels;
        _maskColumns.Clear();
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        var cache = _caches[conv];
        long channels = conv.InChannels;
        // The first layer must not see its own pixel (type A): its input is written after sampling.
        if (role != MaskRole.First) Write(cache, input);
        var neighbourhood = _neighbourhoods[conv.Dilation][Step];
        var patch = (_shared ? cache.index_select(2, neighbourhood) : cache.gather(2, neighbourhood.expand(_batch, channels, neighbourhood.shape[2])))
            .reshape(_batch, -1);
        var (weight, bias, maskWeight) = _convolutions[conv];
        var output = bias is null ? patch.mm(weight) : addmm(bias, patch, weight, beta: 1, alpha: 1);
        return maskWeight is null ? output : output.add_(MaskColumns(role).mm(maskWeight));
    }

    public Tensor Linear(NetworkInNetwork layer, Tensor input)
    {
        var (weight, bias) = _linears[layer];
        return addmm(bias, input, weight, beta: 1, alpha: 1);
    }

    /// <summary>Feature normalization at one pixel, (N, C): PONO without the public function's checks, scope and copy (the hot path of a step).</summary>
    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => normalization switch
    {
        FeatureNormalization.Pono => PositionalNormalization.NormalizeLastDimension(input),
        FeatureNormalization.OrderRescale => input / MaskColumns(role).sum(dim: 1, keepdim: true),
        _ => input,
    };

    /// <summary>The mask of a role at this step's pixels: (1, T) when the batch shares one order, else (N, T).</summary>
    private Tensor MaskColumns(MaskRole role)
    {
        if (_maskColumns.TryGetValue(role, out var columns)) return columns;
        if (_masks is null || _pixels is null) throw new InvalidOperationException("The masks were not given to the pixel evaluator.");
        var mask = role switch { MaskRole.First => _masks.First, MaskRole.Dilated => _masks.Dilated, _ => _masks.Undilated };
        columns = mask.dim() == 2
            ? mask.index_select(1, _pixels.view(-1).narrow(0, 0, 1)).t()
            : mask.gather(2, _pixels.expand(_batch, mask.shape[1], 1)).squeeze(2);
        _maskColumns[role] = columns;
        return columns;
    }

    /// <summary>Sampling runs in evaluation mode: no dropout.</summary>
    public Tensor Dropout(GatedResidualBlock block, Tensor input) => input;

    /// <summary>Writes (N, C) values into a cache at this step's pixels.</summary>
    public void Write(Tensor cache, Tensor values)
    {
        if (_shared) cache.index_copy_(2, _positions[Step], values.unsqueeze(2));
        else cache.scatter_(2, _positions[Step].expand(_batch, values.shape[1], 1), values.unsqueeze(2));
    }

    private static Tensor? ParameterNamed(TorchSharp.torch.nn.Module module, string name) =>
        module.named_parameters().Where(p => p.name == name).Select(p => p.parameter.detach()).FirstOrDefault();
}
