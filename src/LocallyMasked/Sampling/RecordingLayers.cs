using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using LocallyMasked.Masks;
using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Sampling;

/// <summary>
/// The model's layers on whole feature maps (<see cref="FeatureMapLayers"/>), recording the input of every convolution that
/// has a cache into it, in the cached sampler's row layout (H * W * N + 1, C): image i's pixel q is row q * N + i. The
/// other hooks act at each pixel alone and keep nothing. The products compute in the precision given, as the steps' do.
/// </summary>
internal sealed class RecordingLayers : ILayerEvaluator
{
    private readonly FeatureMapLayers _layers;
    private readonly IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> _caches;

    public RecordingLayers(MaskSet masks, IReadOnlyDictionary<LocallyMaskedConv2d, Tensor> caches, ComputePrecision? precision = null)
    {
        _layers = new FeatureMapLayers(masks, null, precision);
        _caches = caches;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role)
    {
        if (_caches.TryGetValue(conv, out var cache)) Record(cache, input);
        return _layers.Convolve(conv, input, role);
    }

    public Tensor ConcatElu(Tensor input) => _layers.ConcatElu(input);

    public Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role) => _layers.Normalize(input, normalization, role);

    public Tensor Dropout(GatedResidualBlock block, Tensor input) => _layers.Dropout(block, input);

    public Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip) => _layers.Skip(t, layer, skip);

    public Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role) => _layers.Gate(u, gate, normalization, role);

    public Tensor Output(NetworkInNetwork layer, Tensor u) => _layers.Output(layer, u);

    /// <summary>Copies feature maps (N, C, H, W) into the pixel rows of a cache (H * W * N + 1, C).</summary>
    public static void Record(Tensor cache, Tensor input)
    {
        using var pixels = Pixels(cache, input.shape);
        using var pixelMajor = input.permute(2, 3, 0, 1);
        pixels.copy_(pixelMajor);
    }

    /// <summary>The pixel rows of a cache as (H, W, N, C), for images of shape (N, C, H, W).</summary>
    public static Tensor Pixels(Tensor cache, long[] imageShape)
    {
        long n = imageShape[0], channels = cache.shape[1], height = imageShape[2], width = imageShape[3];
        using var rows = cache.narrow(0, 0, n * height * width);
        return rows.view(height, width, n, channels);
    }
}
