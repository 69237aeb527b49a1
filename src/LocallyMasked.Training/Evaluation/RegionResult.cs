namespace LocallyMasked.Training.Evaluation;

/// <summary>The test negative log-likelihood of a region given what the model conditions it on, in an <see cref="EvaluationResult"/>.</summary>
public sealed record RegionResult
{
    /// <summary>The region as given ("centre", "box:0,0,14,28").</summary>
    public required string Name { get; init; }

    /// <summary>Pixels in the region.</summary>
    public required int Pixels { get; init; }

    /// <summary>Values in the region (pixels x channels): bits per dimension are nats / (Dimensions * ln 2).</summary>
    public required int Dimensions { get; init; }

    /// <summary>How many orders were mixed.</summary>
    public required int Orders { get; init; }

    /// <summary>True when the region was generated after every other pixel; false when each region pixel was scored given
    /// the pixels before it in raster order (a raster-only model).</summary>
    public required bool RegionLast { get; init; }

    /// <summary>Mean negative log-likelihood of the region in nats per image.</summary>
    public required double Nats { get; init; }

    /// <summary>The same in bits per region dimension.</summary>
    public required double Bpd { get; init; }

    /// <summary>Whether <paramref name="other"/> scores the same region the same way (the figures aside).</summary>
    /// <param name="other">The other region.</param>
    public bool SameRegionAs(RegionResult other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return this with { Nats = other.Nats, Bpd = other.Bpd } == other;
    }
}
