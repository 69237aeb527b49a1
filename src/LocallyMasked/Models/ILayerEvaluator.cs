using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>How the traversal applies the layers that hold weights, and positional normalization.</summary>
internal interface ILayerEvaluator
{
    /// <summary>Applies a masked convolution to its input.</summary>
    Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role);

    /// <summary>Applies a 1x1 weight-normalized layer (channels in dimension 1).</summary>
    Tensor Linear(NetworkInNetwork layer, Tensor input);

    /// <summary>Positional normalization over dimension 1.</summary>
    Tensor Normalize(Tensor input);

    /// <summary>The block's channel dropout before its second convolution (identity outside training).</summary>
    Tensor Dropout(GatedResidualBlock block, Tensor input);
}
