using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>The discretized logistic of PixelCNN++: the probability of one bin of width 2 / (2^bits - 1) on [-1, 1].</summary>
internal static class DiscretizedLogistic
{
    /// <summary>Lower clamp of the log-scales (as in the reference code).</summary>
    internal const double MinLogScale = -7.0;

    /// <summary>Bins whose probability falls below this use the density at the bin centre instead.</summary>
    internal const double ProbabilityFloor = 1e-5;

    /// <summary>The reference code's log of bins per unit length in the low-probability fallback, log(255 / 2), at every bit depth.</summary>
    internal static readonly double FallbackLogBinsPerUnit = Math.Log(127.5);

    /// <summary>Values beyond +-0.999 are the edge bins, which take the CDF tails.</summary>
    internal const double EdgeThreshold = 0.999;

    // The authors' 0.999 separates the top bin centre from the next one (1 - 2 / top) up to 9 bits; at higher
    // bit depths that centre passes 0.999, so the threshold moves to the midpoint between the two.
    private static double EdgeFor(double top) => Math.Max(EdgeThreshold, 1 - 1 / top);

    /// <summary>
    /// log P(bin of x) under logistic(mean, exp(logScale)); x broadcasts against mean and logScale.
    /// Edge bins take the CDF tails; a bin with probability below 1e-5 falls back to the log density at x
    /// minus log(127.5), exactly as the reference code does at every bit depth.
    /// </summary>
    /// <param name="x">Bin centres in [-1, 1].</param>
    /// <param name="mean">Means.</param>
    /// <param name="logScale">Log-scales, already clamped at <see cref="MinLogScale"/>.</param>
    /// <param name="bits">Bit depth.</param>
    internal static Tensor LogBinProbability(Tensor x, Tensor mean, Tensor logScale, int bits)
    {
        using var scope = NewDisposeScope();
        double top = Math.Pow(2, bits) - 1;
        var centered = x - mean;
        var inverseScale = (-logScale).exp();
        var plusIn = inverseScale * centered.Plus(1.0 / top);
        var minIn = inverseScale * centered.Minus(1.0 / top);
        var cdfDelta = plusIn.sigmoid() - minIn.sigmoid();
        var logCdfPlus = plusIn - plusIn.Softplus();
        var logOneMinusCdfMin = -minIn.Softplus();
        var midIn = inverseScale * centered;
        var logPdfMid = midIn - logScale - midIn.Softplus().Times(2.0);
        // The clamp keeps the unselected branch finite so that where() never propagates NaN gradients. The fallback
        // approximates the bin's mass by density x bin width; the reference code uses the 8-bit width (log 127.5) at
        // every bit depth, and so does this, so that its published and 5-bit models score exactly as there.
        var interior = where(cdfDelta.GreaterThan(ProbabilityFloor), cdfDelta.AtLeast(1e-12).log(), logPdfMid.Minus(FallbackLogBinsPerUnit));
        double edge = EdgeFor(top);
        var upper = where(x.GreaterThan(edge), logOneMinusCdfMin, interior);
        return where(x.LessThan(-edge), logCdfPlus, upper).MoveToOuterDisposeScope();
    }

    /// <summary>Inverse CDF of the standard logistic, log(u) - log(1 - u), with u clamped to [1e-5, 1 - 1e-5] as in the reference sampler.</summary>
    /// <param name="u">Uniforms in [0, 1).</param>
    internal static Tensor StandardLogisticFromUniform(Tensor u)
    {
        using var scope = NewDisposeScope();
        var clamped = u.ClampedTo(1e-5, 1.0 - 1e-5);
        return (clamped.log() - clamped.SubtractedFrom(1.0).log()).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="StandardLogisticFromUniform(Tensor)"/> of one number.</summary>
    internal static double StandardLogisticFromUniform(double u)
    {
        double clamped = Math.Clamp(u, 1e-5, 1.0 - 1e-5);
        return Math.Log(clamped) - Math.Log(1.0 - clamped);
    }
}
