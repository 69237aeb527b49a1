using static TorchSharp.torch;

namespace LocallyMasked.Tests.Convolution;

/// <summary>
/// The plain autograd composition the layer must equal: unfold -> multiply by the mask -> contract with the weight, plus
/// the mask weight's own term sum_t mask_weight[o, t] * mask[t, p] (the reference code's additive mask weight). Written
/// with unfold and einsum only, independent of the layer's code.
/// </summary>
internal static class NaiveLocallyMaskedConvolution
{
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, Tensor mask, int kernelSize, int dilation, Tensor? maskWeight = null)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var o = weight.shape[0];
        var taps = kernelSize * kernelSize;
        var columns = nn.functional.unfold(x, kernelSize, dilation, dilation * (kernelSize - 1) / 2).view(n, c, taps, h * w);
        var m = mask.dim() == 2 ? mask.unsqueeze(0).expand(n, taps, h * w) : mask;
        var wt = weight.reshape(o, c, taps);
        var output = einsum("oct,ntp,nctp->nop", wt, m, columns);
        if (maskWeight is not null)
            output = output + einsum("ot,ntp->nop", maskWeight.reshape(o, taps), m);
        if (bias is not null)
            output = output + bias.view(1, o, 1);
        return output.view(n, o, h, w);
    }
}
