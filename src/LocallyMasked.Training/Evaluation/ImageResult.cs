namespace LocallyMasked.Training.Evaluation;

/// <summary>One image's negative log-likelihoods in an <see cref="EvaluationResult"/>, in nats.</summary>
public sealed record ImageResult
{
    /// <summary>The image's index in its split.</summary>
    public required int Index { get; init; }

    /// <summary>The image's file, where the images are files named one by one; null otherwise.</summary>
    public string? File { get; init; }

    /// <summary>Nats under each order, in the order of <see cref="EvaluationResult.Orders"/>.</summary>
    public required IReadOnlyList<double> Nats { get; init; }

    /// <summary>Nats under the ensemble of the orders.</summary>
    public required double Ensemble { get; init; }

    /// <summary>Nats of the region given the rest, where a region was scored; null otherwise.</summary>
    public double? Region { get; init; }
}
