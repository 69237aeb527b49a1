using LocallyMasked.Convolution;
using LocallyMasked.Masks;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// What each operation of the network's wiring means where the wiring is evaluated. The modules' internal
/// <c>Evaluate</c> methods (<c>LocallyMaskedPixelCnn.Evaluate</c>, the pass stages, <see cref="GatedResidualBlock"/>) are
/// the one description of how the layers connect, and they apply every operation through these hooks: on whole feature
/// maps (N, C, H, W) for <c>forward</c> (<see cref="FeatureMapLayers"/>), recording the cached sampler's caches on the
/// way (Sampling/RecordingLayers), or on the features (N, C) of the one pixel per image that a sampling step computes
/// (Sampling/PixelLayers). Channels are dimension 1 everywhere.
/// </summary>
/// <remarks>
/// Every convolution and matrix product of the network goes through <see cref="Convolve"/>, <see cref="Skip"/> or
/// <see cref="Output"/>: that is where an evaluator chooses the precision the products compute in. Hooks return new
/// values and never change their inputs, so an evaluator may compute a value ahead of the hook that asks for it.
/// </remarks>
internal interface ILayerEvaluator
{
    /// <summary>A masked convolution of <paramref name="input"/>, with the mask of the given role.</summary>
    Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role);

    /// <summary>concat_elu: elu of the channels of x followed by those of -x (2C channels).</summary>
    Tensor ConcatElu(Tensor input);

    /// <summary>Feature normalization over the channels (identity for schemes without one), relative to the mask of the given role.</summary>
    Tensor Normalize(Tensor input, FeatureNormalization normalization, MaskRole role);

    /// <summary>The block's channel dropout before its second convolution (identity outside training).</summary>
    Tensor Dropout(GatedResidualBlock block, Tensor input);

    /// <summary>A skip connection into <paramref name="t"/>: t + layer(concat_elu(skip)).</summary>
    Tensor Skip(Tensor t, NetworkInNetwork layer, Tensor skip);

    /// <summary>
    /// The gated residual update u + norm(a) * sigmoid(b), where a and b are the first and second halves of the channels
    /// of <paramref name="gate"/> and norm is <see cref="Normalize"/> with the given scheme and role.
    /// </summary>
    Tensor Gate(Tensor u, Tensor gate, FeatureNormalization normalization, MaskRole role);

    /// <summary>The output head: layer(elu(u)), the distribution parameters.</summary>
    Tensor Output(NetworkInNetwork layer, Tensor u);
}
