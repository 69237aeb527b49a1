using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>
/// The one-channel discretized logistic mixture (the reference code's <c>_1d</c> loss). Parameters per pixel
/// (3 K for K components): K mixture logits, K means, K log-scales (clamped at -7).
/// </summary>
public sealed class GreyLogisticMixture : PixelLikelihood
{
    /// <summary>Creates the distribution.</summary>
    /// <param name="mixtureComponents">Number of components K (&gt;= 1).</param>
    /// <param name="bits">Bit depth, 1 to 16.</param>
    public GreyLogisticMixture(int mixtureComponents, int bits = 8)
        : base(1, 3 * RgbLogisticMixture.CheckComponents(mixtureComponents), 2, RgbLogisticMixture.CheckBits(bits))
    {
        MixtureComponents = mixtureComponents;
    }

    /// <inheritdoc />
    public override LikelihoodKind Kind => LikelihoodKind.GreyLogisticMixture;

    /// <summary>Number of mixture components K.</summary>
    public int MixtureComponents { get; }

    private protected override Tensor ComputeLogProbability(Tensor x, Tensor parameters)
    {
        var (logits, means, logScales) = Split(parameters);
        var perComponent = DiscretizedLogistic.LogBinProbability(x, means, logScales, Bits).Plus(nn.functional.log_softmax(logits, -1));
        return perComponent.logsumexp(-1);
    }

    private protected override Tensor ComputeSample(Tensor parameters, Tensor uniforms, double temperature)
    {
        var (logits, means, logScales) = Split(parameters);
        var index = CategoricalFromUniform(logits, uniforms.select(-1, 0), temperature).unsqueeze(-1);
        var mean = means.gather(-1, index);
        var scale = logScales.gather(-1, index).exp().Times(temperature);
        var noise = DiscretizedLogistic.StandardLogisticFromUniform(uniforms.narrow(-1, 1, 1));
        return Quantize(mean.Plus(scale * noise), Bits);
    }

    private protected override void SampleRow(ReadOnlySpan<double> parameters, ReadOnlySpan<double> uniforms, double temperature, Span<double> value)
    {
        int k = MixtureComponents;
        int index = CategoricalFromUniform(parameters.Slice(0, k), uniforms[0], temperature);
        double scale = Math.Exp(Math.Max(parameters[2 * k + index], DiscretizedLogistic.MinLogScale)) * temperature;
        value[0] = QuantizeValue(parameters[k + index] + scale * DiscretizedLogistic.StandardLogisticFromUniform(uniforms[1]), Bits);
    }

    private (Tensor Logits, Tensor Means, Tensor LogScales) Split(Tensor parameters)
    {
        int k = MixtureComponents;
        return (parameters.narrow(-1, 0, k), parameters.narrow(-1, k, k),
            parameters.narrow(-1, 2 * k, k).AtLeast(DiscretizedLogistic.MinLogScale));
    }
}
