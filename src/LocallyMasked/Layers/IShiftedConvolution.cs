using LocallyMasked.Numerics;
using static TorchSharp.torch;

namespace LocallyMasked.Layers;

/// <summary>
/// The baseline's shifted convolutions (down-shifted and down-right-shifted, plain and transposed), applied with their
/// product in a compute precision: how <c>PixelCnnPlusPlus</c> and its blocks reach the convolutions they hold as
/// <c>nn.Module&lt;Tensor, Tensor&gt;</c>.
/// </summary>
internal interface IShiftedConvolution
{
    /// <summary>The layer's <c>forward</c> with its convolution in <paramref name="precision"/>.</summary>
    Tensor Forward(Tensor x, ComputePrecision precision);
}
