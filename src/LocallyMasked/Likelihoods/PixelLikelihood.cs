using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>
/// A per-pixel output distribution: turns the network's parameters (N, M, ...) into log-probabilities of
/// pixel values in [-1, 1] and draws samples from externally supplied uniform random numbers, so that two
/// samplers given the same uniforms produce the same images. Layout: dimension 1 holds the parameters (or
/// the image channels); any number of trailing dimensions (H, W, or none for single pixels) follow.
/// </summary>
public abstract class PixelLikelihood
{
    /// <summary>Creates the base with the shape facts every implementation declares.</summary>
    /// <param name="imageChannels">Channels of a pixel value.</param>
    /// <param name="parameterChannels">Parameters per pixel.</param>
    /// <param name="uniformsPerPixel">Uniform numbers consumed per pixel by <see cref="Sample"/>.</param>
    /// <param name="bits">Bit depth of the pixel values.</param>
    private protected PixelLikelihood(int imageChannels, int parameterChannels, int uniformsPerPixel, int bits)
    {
        ImageChannels = imageChannels;
        ParameterChannels = parameterChannels;
        UniformsPerPixel = uniformsPerPixel;
        Bits = bits;
    }

    /// <summary>Which distribution this is.</summary>
    public abstract LikelihoodKind Kind { get; }

    /// <summary>Channels of a pixel value (C).</summary>
    public int ImageChannels { get; }

    /// <summary>Distribution parameters per pixel (M).</summary>
    public int ParameterChannels { get; }

    /// <summary>Uniform random numbers in (0, 1) consumed per pixel by <see cref="Sample"/> (size of its dimension 1).</summary>
    public int UniformsPerPixel { get; }

    /// <summary>Bit depth of the pixel values: 2^bits levels evenly spaced on [-1, 1] (1 for binary pixels).</summary>
    public int Bits { get; }

    /// <summary>Creates the distribution of a kind.</summary>
    /// <param name="kind">The distribution.</param>
    /// <param name="mixtureComponents">Logistic components (ignored for <see cref="LikelihoodKind.Binary"/>).</param>
    /// <param name="bits">Bit depth for the logistic mixtures, 1 to 16 (ignored for <see cref="LikelihoodKind.Binary"/>).</param>
    public static PixelLikelihood Create(LikelihoodKind kind, int mixtureComponents, int bits) => kind switch
    {
        LikelihoodKind.RgbLogisticMixture => new RgbLogisticMixture(mixtureComponents, bits),
        LikelihoodKind.GreyLogisticMixture => new GreyLogisticMixture(mixtureComponents, bits),
        LikelihoodKind.Binary => new BinaryLikelihood(),
        _ => throw new ArgumentException($"Unknown likelihood kind {kind}.", nameof(kind)),
    };

    /// <summary>
    /// Distribution parameters per pixel of a kind (what <see cref="ParameterChannels"/> of <see cref="Create"/>'s
    /// distribution is), without building it: 10 x mixtures (RGB), 3 x mixtures (grey) or 2 (binary).
    /// </summary>
    /// <param name="kind">The distribution.</param>
    /// <param name="mixtureComponents">Logistic components (ignored for <see cref="LikelihoodKind.Binary"/>).</param>
    /// <exception cref="InvalidOperationException">The kind is not a <see cref="LikelihoodKind"/>.</exception>
    internal static int ParameterChannelsOf(LikelihoodKind kind, int mixtureComponents) => kind switch
    {
        LikelihoodKind.RgbLogisticMixture => 10 * mixtureComponents,
        LikelihoodKind.GreyLogisticMixture => 3 * mixtureComponents,
        LikelihoodKind.Binary => 2,
        _ => throw new InvalidOperationException($"Unknown likelihood {kind}."),
    };

    /// <summary>
    /// Log-probability in nats of every pixel's value (summed over its channels) given the parameters.
    /// </summary>
    /// <param name="x">Pixel values (N, C, ...) in [-1, 1] (binary pixels: -1 or +1).</param>
    /// <param name="parameters">Distribution parameters (N, M, ...) with the same trailing dimensions.</param>
    /// <returns>Log-probabilities (N, ...), on the parameters' device and dtype.</returns>
    public Tensor LogProbability(Tensor x, Tensor parameters)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(parameters);
        CheckParameters(parameters, nameof(parameters));
        if (x.dim() != parameters.dim() || x.shape[0] != parameters.shape[0] || x.shape[1] != ImageChannels
            || !x.shape.Skip(2).SequenceEqual(parameters.shape.Skip(2)))
        {
            throw new ArgumentException(
                $"Expected pixel values of shape ({parameters.shape[0]}, {ImageChannels}{Trailing(parameters)}), got ({string.Join(", ", x.shape)}).",
                nameof(x));
        }
        if (!x.is_floating_point())
            throw new ArgumentException($"Expected floating-point pixel values, got {x.dtype}.", nameof(x));
        CheckValues(x, nameof(x));
        using var scope = NewDisposeScope();
        var values = x.to(parameters.dtype).movedim(new long[] { 1 }, new long[] { -1 });
        return ComputeLogProbability(values, parameters.movedim(new long[] { 1 }, new long[] { -1 })).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Draws pixel values from the distribution using the given uniform numbers (a deterministic function of them),
    /// rounded to the bin centres of the bit depth.
    /// </summary>
    /// <param name="parameters">Distribution parameters (N, M, ...).</param>
    /// <param name="uniforms">Uniform numbers in [0, 1) of shape (N, <see cref="UniformsPerPixel"/>, ...), same trailing dimensions.</param>
    /// <param name="temperature">Divides the mixture / class logits and multiplies the logistic scales; 1 samples the model exactly. Must be positive.</param>
    /// <returns>Pixel values (N, C, ...) in [-1, 1], on the parameters' device and dtype.</returns>
    public Tensor Sample(Tensor parameters, Tensor uniforms, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(uniforms);
        CheckParameters(parameters, nameof(parameters));
        if (uniforms.dim() != parameters.dim() || uniforms.shape[0] != parameters.shape[0] || uniforms.shape[1] != UniformsPerPixel
            || !uniforms.shape.Skip(2).SequenceEqual(parameters.shape.Skip(2)))
        {
            throw new ArgumentException(
                $"Expected uniforms of shape ({parameters.shape[0]}, {UniformsPerPixel}{Trailing(parameters)}), got ({string.Join(", ", uniforms.shape)}).",
                nameof(uniforms));
        }
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Expected a finite positive temperature.");
        using var scope = NewDisposeScope();
        var u = uniforms.to(parameters.dtype).movedim(new long[] { 1 }, new long[] { -1 });
        return ComputeSample(parameters.movedim(new long[] { 1 }, new long[] { -1 }), u, temperature).movedim(new long[] { -1 }, new long[] { 1 }).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Sample"/> for single pixels on the host, in float64: row i of <paramref name="parameters"/> (N x M) and of
    /// <paramref name="uniforms"/> (N x U) give row i of <paramref name="values"/> (N x C), by the same function of the
    /// uniforms as the tensor version, which is the definition: the cached sampler's CPU path draws with this one to avoid
    /// dozens of torch operations per step, and a test compares the two on every head, bit for bit.
    /// </summary>
    internal void SampleRows(ReadOnlySpan<double> parameters, ReadOnlySpan<double> uniforms, double temperature, Span<double> values)
    {
        int n = values.Length / ImageChannels;
        for (int i = 0; i < n; i++)
        {
            SampleRow(parameters.Slice(i * ParameterChannels, ParameterChannels), uniforms.Slice(i * UniformsPerPixel, UniformsPerPixel),
                temperature, values.Slice(i * ImageChannels, ImageChannels));
        }
    }

    /// <summary>One pixel of <see cref="SampleRows"/>.</summary>
    private protected abstract void SampleRow(ReadOnlySpan<double> parameters, ReadOnlySpan<double> uniforms, double temperature, Span<double> value);

    /// <summary><see cref="Quantize"/> of one value.</summary>
    internal static double QuantizeValue(double x, int bits)
    {
        double top = Math.Pow(2, bits) - 1;
        double levels = Math.Round((Math.Clamp(x, -1.0, 1.0) + 1.0) * (top / 2.0), MidpointRounding.ToEven);
        return levels * 2.0 / top - 1.0;
    }

    /// <summary><see cref="CategoricalFromUniform(Tensor, Tensor, double)"/> of one pixel: softmax of logits / temperature, cumulated.</summary>
    private protected static int CategoricalFromUniform(ReadOnlySpan<double> logits, double u, double temperature)
    {
        double largest = double.NegativeInfinity;
        foreach (double logit in logits) largest = Math.Max(largest, logit / temperature);
        double total = 0;
        foreach (double logit in logits) total += Math.Exp(logit / temperature - largest);
        double cumulative = 0;
        int below = 0;
        foreach (double logit in logits)
        {
            cumulative += Math.Exp(logit / temperature - largest) / total;
            if (cumulative <= u) below++;
        }
        return Math.Min(below, logits.Length - 1);
    }

    /// <summary>Rounds values to the nearest of the 2^bits bin centres on [-1, 1] (after clamping to [-1, 1]).</summary>
    /// <param name="x">Values of any shape.</param>
    /// <param name="bits">Bit depth, 1 to 16.</param>
    /// <returns>The rounded values, same shape, device and dtype.</returns>
    public static Tensor Quantize(Tensor x, int bits)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (bits is < 1 or > 16) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Expected 1 to 16 bits.");
        double top = Math.Pow(2, bits) - 1;
        using var scope = NewDisposeScope();
        var levels = x.ClampedTo(-1.0, 1.0).Plus(1.0).Times(top / 2.0).round();
        return levels.Times(2.0).DividedBy(top).Minus(1.0).MoveToOuterDisposeScope();
    }

    /// <summary>Log-probabilities from channels-last values (..., C) and parameters (..., M); returns (...).</summary>
    /// <param name="x">Channels-last pixel values, in the parameters' dtype.</param>
    /// <param name="parameters">Channels-last parameters.</param>
    private protected abstract Tensor ComputeLogProbability(Tensor x, Tensor parameters);

    /// <summary>Samples from channels-last parameters (..., M) and uniforms (..., U); returns (..., C).</summary>
    /// <param name="parameters">Channels-last parameters.</param>
    /// <param name="uniforms">Channels-last uniforms, in the parameters' dtype.</param>
    /// <param name="temperature">Positive temperature.</param>
    private protected abstract Tensor ComputeSample(Tensor parameters, Tensor uniforms, double temperature);

    /// <summary>Checks the pixel values' range; binary pixels override to demand exactly -1 or +1.</summary>
    /// <param name="x">Pixel values (N, C, ...).</param>
    /// <param name="argumentName">Name reported in the exception.</param>
    private protected virtual void CheckValues(Tensor x, string argumentName)
    {
        using var scope = NewDisposeScope();
        if (x.numel() > 0 && !x.abs().LessOrEqual(1.0).all().item<bool>())
            throw new ArgumentException("Pixel values must lie in [-1, 1] (images are scaled from [0, 2^bits - 1] to [-1, 1]).", argumentName);
    }

    private void CheckParameters(Tensor parameters, string argumentName)
    {
        if (parameters.dim() < 2 || parameters.shape[1] != ParameterChannels)
            throw new ArgumentException(
                $"Expected parameters of shape (N, {ParameterChannels}, ...), got ({string.Join(", ", parameters.shape)}).", argumentName);
        if (!parameters.is_floating_point())
            throw new ArgumentException($"Expected floating-point parameters, got {parameters.dtype}.", argumentName);
    }

    private static string Trailing(Tensor t) => string.Concat(t.shape.Skip(2).Select(d => $", {d}"));

    /// <summary>Index of the mixture component (or class) whose cumulative probability first exceeds u: inverse-CDF sampling with one uniform.</summary>
    /// <param name="logits">Channels-last logits (..., K).</param>
    /// <param name="u">Uniforms (...).</param>
    /// <param name="temperature">Divides the logits.</param>
    /// <returns>Indices (...) of dtype int64.</returns>
    private protected static Tensor CategoricalFromUniform(Tensor logits, Tensor u, double temperature)
    {
        using var scope = NewDisposeScope();
        long k = logits.shape[^1];
        var cdf = nn.functional.softmax(logits.DividedBy(temperature), -1).cumsum(-1);
        // Count the components whose cumulative probability lies at or below u; clamping guards the rounding of cdf[K-1] to just under 1.
        var index = cdf.le(u.unsqueeze(-1)).sum(dim: -1L, type: ScalarType.Int64).AtMost(k - 1);
        return index.MoveToOuterDisposeScope();
    }
}
