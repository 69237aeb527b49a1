using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The model's layers on whole feature maps, recording the input of every convolution that has a cache into it, in the
/// cached sampler's row layout (N * H * W + 1, C): image i's pixel q is row i * H * W + q.
/// </summary>
internal sealed class RecordingLayers : ILayerEvaluator
{
    private readonly FeatureMapLayers _layers;
    private readonly IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> _caches;

    public RecordingLayers(MaskSet masks, IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> caches)
    {
        _layers = new FeatureMapLayers(masks);
        _caches = caches;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        if (_caches.TryGetValue(conv, out var cache)) Record(cache, input);
        return _layers.Convolve(conv, input, role);
    }

    public Tensor Linear(NetworkInNetwork layer, Tensor input) => _layers.Linear(layer, input);

    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => _layers.Normalize(input, normalization, role);

    public Tensor Dropout(GatedResidualBlock block, Tensor input) => _layers.Dropout(block, input);

    /// <summary>Copies feature maps (N, C, H, W) into the pixel rows of a cache (N * H * W + 1, C).</summary>
    public static void Record(Tensor cache, Tensor input)
    {
        long n = input.shape[0], channels = input.shape[1], height = input.shape[2], width = input.shape[3];
        using var rows = cache.narrow(0, 0, n * height * width);
        using var pixels = rows.view(n, height, width, channels);
        using var channelsLast = input.permute(0, 2, 3, 1);
        pixels.copy_(channelsLast);
    }
}
