using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>
/// The PixelCNN++ discretized logistic mixture over RGB with channel coupling. Parameters per pixel
/// (10 K for K components): K mixture logits, then for each channel c in (R, G, B) a block of 3K values:
/// K means, K log-scales (clamped at -7) and K coupling coefficients (through tanh). The green mean adds
/// coef[R] * red; the blue mean adds coef[G] * red + coef[B] * green (coefficients of the red, green, blue blocks).
/// </summary>
public sealed class RgbLogisticMixture : PixelLikelihood
{
    /// <summary>Creates the distribution.</summary>
    /// <param name="mixtureComponents">Number of components K (&gt;= 1).</param>
    /// <param name="bits">Bit depth, 1 to 16.</param>
    public RgbLogisticMixture(int mixtureComponents, int bits = 8)
        : base(3, 10 * CheckComponents(mixtureComponents), 4, CheckBits(bits))
    {
        MixtureComponents = mixtureComponents;
    }

    /// <inheritdoc />
    public override LikelihoodKind Kind => LikelihoodKind.RgbLogisticMixture;

    /// <summary>Number of mixture components K.</summary>
    public int MixtureComponents { get; }

    private protected override Tensor ComputeLogProbability(Tensor x, Tensor parameters)
    {
        int k = MixtureComponents;
        var (logits, means, logScales, coefficients) = Split(parameters);
        var values = x.unsqueeze(-1); // (..., 3, 1)
        var red = values.select(-2, 0);
        var green = values.select(-2, 1);
        var coupledMeans = stack(new[]
        {
            means.select(-2, 0),
            means.select(-2, 1).Plus(coefficients.select(-2, 0) * red),
            means.select(-2, 2).Plus(coefficients.select(-2, 1) * red).Plus(coefficients.select(-2, 2) * green),
        }, -2);
        var perComponent = DiscretizedLogistic.LogBinProbability(values, coupledMeans, logScales, Bits).sum(dim: -2L)
            .Plus(nn.functional.log_softmax(logits, -1));
        return perComponent.logsumexp(-1);
    }

    private protected override Tensor ComputeSample(Tensor parameters, Tensor uniforms, double temperature)
    {
        var (logits, means, logScales, coefficients) = Split(parameters);
        var component = CategoricalFromUniform(logits, uniforms.select(-1, 0), temperature);
        var index = component.unsqueeze(-1).unsqueeze(-1).expand(means.shape[..^1].Append(1L).ToArray());
        var mean = means.gather(-1, index).squeeze(-1);          // (..., 3)
        var scale = logScales.gather(-1, index).squeeze(-1).exp().Times(temperature);
        var coefficient = coefficients.gather(-1, index).squeeze(-1);
        var noise = DiscretizedLogistic.StandardLogisticFromUniform(uniforms.narrow(-1, 1, 3));
        // Each channel is rounded before it conditions the next one, as in the likelihood, where the
        // coupling uses the observed (bin-centre) values.
        var red = Quantize(mean.select(-1, 0).Plus(scale.select(-1, 0) * noise.select(-1, 0)), Bits);
        var green = Quantize(mean.select(-1, 1).Plus(coefficient.select(-1, 0) * red).Plus(scale.select(-1, 1) * noise.select(-1, 1)), Bits);
        var blue = Quantize(mean.select(-1, 2).Plus(coefficient.select(-1, 1) * red).Plus(coefficient.select(-1, 2) * green)
            .Plus(scale.select(-1, 2) * noise.select(-1, 2)), Bits);
        return stack(new[] { red, green, blue }, -1);
    }

    private protected override void SampleRow(ReadOnlySpan<double> parameters, ReadOnlySpan<double> uniforms, double temperature, Span<double> value)
    {
        int k = MixtureComponents;
        int index = CategoricalFromUniform(parameters.Slice(0, k), uniforms[0], temperature);
        // Channel c's block of 3K values starts at K + 3Kc: means, log-scales, coefficients.
        Span<double> mean = stackalloc double[3], scale = stackalloc double[3], coefficient = stackalloc double[3], noise = stackalloc double[3];
        for (int c = 0; c < 3; c++)
        {
            int block = k + 3 * k * c;
            mean[c] = parameters[block + index];
            scale[c] = Math.Exp(Math.Max(parameters[block + k + index], DiscretizedLogistic.MinLogScale)) * temperature;
            coefficient[c] = Math.Tanh(parameters[block + 2 * k + index]);
            noise[c] = DiscretizedLogistic.StandardLogisticFromUniform(uniforms[1 + c]);
        }
        double red = QuantizeValue(mean[0] + scale[0] * noise[0], Bits);
        double green = QuantizeValue(mean[1] + coefficient[0] * red + scale[1] * noise[1], Bits);
        double blue = QuantizeValue(mean[2] + coefficient[1] * red + coefficient[2] * green + scale[2] * noise[2], Bits);
        value[0] = red;
        value[1] = green;
        value[2] = blue;
    }

    private (Tensor Logits, Tensor Means, Tensor LogScales, Tensor Coefficients) Split(Tensor parameters)
    {
        int k = MixtureComponents;
        var logits = parameters.narrow(-1, 0, k);
        var rest = parameters.narrow(-1, k, 9 * k).unflatten(parameters.dim() - 1, new long[] { 3, 3 * k }); // (..., 3, 3K)
        var means = rest.narrow(-1, 0, k);
        var logScales = rest.narrow(-1, k, k).AtLeast(DiscretizedLogistic.MinLogScale);
        var coefficients = rest.narrow(-1, 2 * k, k).tanh();
        return (logits, means, logScales, coefficients);
    }

    internal static int CheckComponents(int mixtureComponents) => mixtureComponents >= 1
        ? mixtureComponents
        : throw new ArgumentOutOfRangeException(nameof(mixtureComponents), mixtureComponents, "Expected at least one mixture component.");

    internal static int CheckBits(int bits) => bits is >= 1 and <= 16
        ? bits
        : throw new ArgumentOutOfRangeException(nameof(bits), bits, "Expected 1 to 16 bits.");
}
