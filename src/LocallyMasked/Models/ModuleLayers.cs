using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>The model's own layers on whole feature maps (N, C, H, W), with one mask per role.</summary>
internal sealed class ModuleLayers : ILayerEvaluator
{
    private readonly Tensor _first;
    private readonly Tensor _undilated;
    private readonly Tensor _dilated;

    public ModuleLayers(MaskSet masks) : this(masks.First, masks.Undilated, masks.Dilated)
    {
    }

    public ModuleLayers(Tensor first, Tensor undilated, Tensor dilated)
    {
        _first = first;
        _undilated = undilated;
        _dilated = dilated;
    }

    public Tensor Convolve(LocallyMaskedConv2d conv, Tensor input, MaskRole role) =>
        conv.forward(input, role switch { MaskRole.First => _first, MaskRole.Dilated => _dilated, _ => _undilated });

    public Tensor Linear(NetworkInNetwork layer, Tensor input) => layer.forward(input);

    public Tensor Normalize(Tensor input) => PositionalNormalization.Apply(input);

    public Tensor Dropout(GatedResidualBlock block, Tensor input) =>
        block.Dropout > 0 && block.training ? nn.functional.dropout2d(input, block.Dropout, training: true) : input;
}
