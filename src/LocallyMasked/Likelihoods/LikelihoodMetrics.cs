using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>Conversions between log-likelihoods in nats and the reported units.</summary>
public static class LikelihoodMetrics
{
    /// <summary>Bits per dimension from a negative log-likelihood in nats per image: nll / (dims * ln 2).</summary>
    /// <param name="negativeLogLikelihoodNats">NLL of one image in nats.</param>
    /// <param name="dimensions">Dimensions per image (C * H * W), at least 1.</param>
    public static double BitsPerDimension(double negativeLogLikelihoodNats, int dimensions)
    {
        if (dimensions < 1) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "Expected at least one dimension.");
        return negativeLogLikelihoodNats / (dimensions * Math.Log(2.0));
    }

    /// <summary>Bits per dimension of every image from per-image log-likelihoods in nats: -logp / (dims * ln 2).</summary>
    /// <param name="logLikelihoodNats">Per-image log-likelihoods (N) in nats.</param>
    /// <param name="dimensions">Dimensions per image (C * H * W), at least 1.</param>
    /// <returns>Bits per dimension (N).</returns>
    public static Tensor BitsPerDimension(Tensor logLikelihoodNats, int dimensions)
    {
        ArgumentNullException.ThrowIfNull(logLikelihoodNats);
        if (dimensions < 1) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "Expected at least one dimension.");
        return logLikelihoodNats / (-dimensions * Math.Log(2.0));
    }
}
