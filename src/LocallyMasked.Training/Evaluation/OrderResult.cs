namespace LocallyMasked.Training.Evaluation;

/// <summary>The mean test negative log-likelihood under one order of an <see cref="EvaluationResult"/>.</summary>
public sealed record OrderResult
{
    /// <summary>The order's position in the evaluated order set (from 0).</summary>
    public required int Index { get; init; }

    /// <summary>The order's name as the table shows it ("0 (Identity)", "raster").</summary>
    public required string Name { get; init; }

    /// <summary>The SHA-256 of the order's pixel sequence (each pixel index as a little-endian 32-bit integer), lower-case hexadecimal.</summary>
    public required string Sha256 { get; init; }

    /// <summary>Mean negative log-likelihood in nats per image.</summary>
    public required double Nats { get; init; }

    /// <summary>The same in bits per dimension.</summary>
    public required double Bpd { get; init; }
}
