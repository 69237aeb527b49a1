using static TorchSharp.torch;

namespace LocallyMasked.Convolution;

/// <summary>Chooses how a locally masked convolution is computed for a given mask.</summary>
internal static class ConvolutionPlanner
{
    /// <summary>
    /// Computes the convolution of x with the effective weight under the mask.
    /// </summary>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="weight">Effective weight (O, C, k, k).</param>
    /// <param name="bias">Bias (O) or null.</param>
    /// <param name="mask">Mask on x's device and dtype.</param>
    /// <param name="maskKey">The caller's mask instance, the key under which its analysis is cached.</param>
    /// <param name="kernelSize">Kernel size k.</param>
    /// <param name="dilation">Dilation.</param>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias, Tensor mask, Tensor maskKey, int kernelSize, int dilation)
        => MaskedIm2ColFunction.apply(x, weight, bias!, mask, kernelSize, dilation);
}
