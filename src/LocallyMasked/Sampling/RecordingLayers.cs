using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The model's layers on whole feature maps, recording every convolution's input into the interior of its
/// padded cache (N, C, (H + 2 pad) * (W + 2 pad)).
/// </summary>
internal sealed class RecordingLayers : ILayerEvaluator
{
    private readonly FeatureMapLayers _layers;
    private readonly IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> _caches;
    private readonly int _pad;

    public RecordingLayers(MaskSet masks, IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> caches, int pad)
    {
        _layers = new FeatureMapLayers(masks);
        _caches = caches;
        _pad = pad;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        long height = input.shape[2], width = input.shape[3];
        using (var cache = _caches[conv].view(input.shape[0], input.shape[1], height + 2 * _pad, width + 2 * _pad))
        using (var interior = cache.narrow(2, _pad, height).narrow(3, _pad, width))
        {
            interior.copy_(input);
        }
        return _layers.Convolve(conv, input, role);
    }

    public Tensor Linear(NetworkInNetwork layer, Tensor input) => _layers.Linear(layer, input);

    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => _layers.Normalize(input, normalization, role);

    public Tensor Dropout(GatedResidualBlock block, Tensor input) => _layers.Dropout(block, input);
}
