using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// How the network's wiring applies the operations that depend on where it is evaluated: the layers that hold weights,
/// feature normalization and dropout. Modules evaluate their wiring through it, so the same wiring runs on whole feature
/// maps (N, C, H, W) (<see cref="FeatureMapLayers"/>, what <c>forward</c> uses; the cached sampler's recording of its
/// caches) and could run on the features of one pixel per image (N, C): every other operation of the wiring acts on
/// dimension 1 and pointwise elsewhere. (The cached sampler's steps run their own mirror of the wiring, Sampling/PixelNetwork.)
/// </summary>
internal interface ILayerEvaluator
{
    /// <summary>Applies a masked convolution to its input, with the mask of the given role.</summary>
    Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role);

    /// <summary>Applies a 1x1 weight-normalized layer (channels in dimension 1).</summary>
    Tensor Linear(NetworkInNetwork layer, Tensor input);

    /// <summary>Feature normalization over dimension 1 (identity for schemes without one), relative to the mask of the given role.</summary>
    Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role);

    /// <summary>The block's channel dropout before its second convolution (identity outside training).</summary>
    Tensor Dropout(GatedResidualBlock block, Tensor input);
}
