namespace LocallyMasked.Training.Evaluation;

/// <summary>Test negative log-likelihoods of a model: under each order, and under their uniform mixture.</summary>
/// <param name="PerOrder">Mean negative log-likelihood (nats per image) under each order, in the order set's order.</param>
/// <param name="Ensemble">Mean negative log-likelihood (nats per image) of the uniform mixture of the orders.</param>
/// <param name="Images">How many images were evaluated.</param>
/// <param name="Dimensions">Dimensions per image (C * H * W), to convert to bits per dimension.</param>
public sealed record EvaluationReport(IReadOnlyList<double> PerOrder, double Ensemble, int Images, int Dimensions)
{
    /// <summary>Nats per image converted to bits per dimension.</summary>
    /// <param name="nats">Negative log-likelihood in nats per image.</param>
    public double BitsPerDimension(double nats) => nats / (Dimensions * Math.Log(2));
}
