using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Models;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The model's own layers on whole feature maps (N, C, H, W), optionally recording every convolution's
/// input into the interior of a padded cache (N, C, (H + 2 pad) * (W + 2 pad)).
/// </summary>
internal sealed class WholeImageLayers : ILayerEvaluator
{
    private readonly MaskSet _masks;
    private readonly IReadOnlyDictionary<LocallyMaskedConv2d, Tensor>? _caches;
    private readonly int _pad;

    public WholeImageLayers(MaskSet masks, IReadOnlyDictionary<LocallyMaskedConv2d, Tensor>? caches = null, int pad = 0)
    {
        _masks = masks;
        _caches = caches;
        _pad = pad;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        if (_caches is not null)
        {
            long height = input.shape[2], width = input.shape[3];
            using var cache = _caches[conv].view(input.shape[0], input.shape[1], height + 2 * _pad, width + 2 * _pad);
            using var interior = cache.narrow(2, _pad, height).narrow(3, _pad, width);
            interior.copy_(input);
        }
        var mask = role switch { MaskRole.First => _masks.First, MaskRole.Dilated => _masks.Dilated, _ => _masks.Undilated };
        return conv.forward(input, mask);
    }

    public Tensor Linear(NetworkInNetwork layer, Tensor input) => layer.forward(input);

    public Tensor Normalize(Tensor input) => PositionalNormalization.Apply(input);
}
