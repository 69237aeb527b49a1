using LocallyMasked.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Likelihoods;

/// <summary>
/// Binary pixels (binarized MNIST): two logits per pixel, a categorical distribution over
/// {-1 (logit 0), +1 (logit 1)}. Pixels are fed as -1 / +1; the log-probability is minus the cross-entropy.
/// </summary>
public sealed class BinaryLikelihood : PixelLikelihood
{
    /// <summary>Creates the distribution.</summary>
    public BinaryLikelihood() : base(1, 2, 1, 1)
    {
    }

    /// <inheritdoc />
    public override LikelihoodKind Kind => LikelihoodKind.Binary;

    private protected override Tensor ComputeLogProbability(Tensor x, Tensor parameters)
    {
        var label = x.GreaterThan(0.0).to(ScalarType.Int64); // (..., 1): index 1 for +1
        return nn.functional.log_softmax(parameters, -1).gather(-1, label).squeeze(-1);
    }

    private protected override Tensor ComputeSample(Tensor parameters, Tensor uniforms, double temperature)
    {
        var positive = nn.functional.softmax(parameters.DividedBy(temperature), -1).narrow(-1, 1, 1);
        return where(uniforms.lt(positive), ones_like(positive), -ones_like(positive));
    }

    private protected override void SampleRow(ReadOnlySpan<double> parameters, ReadOnlySpan<double> uniforms, double temperature, Span<double> value)
    {
        double negative = parameters[0] / temperature, positive = parameters[1] / temperature, largest = Math.Max(negative, positive);
        double probability = Math.Exp(positive - largest) / (Math.Exp(negative - largest) + Math.Exp(positive - largest));
        value[0] = uniforms[0] < probability ? 1.0 : -1.0;
    }

    private protected override void CheckValues(Tensor x, string argumentName)
    {
        using var scope = NewDisposeScope();
        if (x.numel() > 0 && !x.abs().EqualTo(1.0).all().item<bool>())
            throw new ArgumentException("Binary pixel values must be exactly -1 or +1.", argumentName);
    }
}
