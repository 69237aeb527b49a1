using LocallyMasked.Convolution;
using LocallyMasked.Layers;
using static TorchSharp.torch;

namespace LocallyMasked.Models;

/// <summary>
/// The Locally Masked PixelCNN++'s computation — the one place where its layers are wired — with the
/// weighted layers left to an <see cref="ILayerEvaluator"/>.
/// Every other operation acts on dimension 1 and pointwise elsewhere, so the same traversal runs on
/// whole feature maps (N, C, H, W) and on the features of one pixel per image (N, C).
/// </summary>
internal static class NetworkTraversal
{
    /// <summary>Computes the distribution parameters (N, M[, H, W]).</summary>
    /// <param name="model">The model whose layers are applied.</param>
    /// <param name="input">The image with its channel of ones, (N, C + 1[, H, W]).</param>
    /// <param name="layers">Applies the convolutions, 1x1 layers and normalization.</param>
    public static Tensor Run(LocallyMaskedPixelCnn model, Tensor input, ILayerEvaluator layers)
    {
        bool pono = model.UsesPositionalNormalization;
        Tensor Normalize(Tensor t) => pono ? layers.Normalize(t) : t;

        var outputs = new List<Tensor> { Normalize(layers.Convolve(model.InitialConvolution, input, MaskRole.First)) };
        var upStages = model.UpStages;
        for (int stage = 0; stage < upStages.Count; stage++)
        {
            foreach (var block in upStages[stage].Blocks) outputs.Add(Block(block, outputs[^1], null, layers));
            if (stage < upStages.Count - 1)
                outputs.Add(Normalize(layers.Convolve(model.DownsizeConvolutions[stage], outputs[^1], MaskRole.Dilated)));
        }

        var u = Pop(outputs);
        var downStages = model.DownStages;
        for (int stage = 0; stage < downStages.Count; stage++)
        {
            foreach (var block in downStages[stage].Blocks) u = Block(block, u, Pop(outputs), layers);
            if (stage < downStages.Count - 1)
                u = Normalize(layers.Convolve(model.UpsizeConvolutions[stage], u, MaskRole.Dilated));
        }
        return layers.Linear(model.OutputLayer, nn.functional.elu(u, 1.0));
    }

    /// <summary>One gated residual block (see <see cref="GatedResidualBlock"/>).</summary>
    internal static Tensor Block(GatedResidualBlock block, Tensor u, Tensor? skip, ILayerEvaluator layers)
    {
        Tensor Normalize(Tensor t) => block.UsesPositionalNormalization ? layers.Normalize(t) : t;
        var t = Normalize(layers.Convolve(block.InputConvolution, ConcatElu.Apply(u), MaskRole.Undilated));
        if (skip is not null) t = t + layers.Linear(block.SkipLayer!, ConcatElu.Apply(skip));
        t = layers.Convolve(block.OutputConvolution, layers.Dropout(block, ConcatElu.Apply(t)), MaskRole.Undilated);
        var halves = t.chunk(2, 1);
        return u + Normalize(halves[0]) * halves[1].sigmoid();
    }

    private static Tensor Pop(List<Tensor> list)
    {
        var last = list[^1];
        list.RemoveAt(list.Count - 1);
        return last;
    }
}
