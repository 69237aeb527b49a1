namespace LocallyMasked.Training.Evaluation;

/// <summary>The mean test negative log-likelihood of the uniform mixture of an <see cref="EvaluationResult"/>'s orders.</summary>
public sealed record EnsembleResult
{
    /// <summary>How many orders were mixed (1: the ensemble is that order).</summary>
    public required int Orders { get; init; }

    /// <summary>Mean negative log-likelihood in nats per image.</summary>
    public required double Nats { get; init; }

    /// <summary>The same in bits per dimension.</summary>
    public required double Bpd { get; init; }
}
