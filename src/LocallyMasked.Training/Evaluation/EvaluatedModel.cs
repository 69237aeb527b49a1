namespace LocallyMasked.Training.Evaluation;

/// <summary>
/// The model of an <see cref="EvaluationResult"/>: which files, read how. Two results are of the same model when their
/// <see cref="Kind"/>, <see cref="Sha256"/>, <see cref="Weights"/> and <see cref="Loading"/> agree (the paths may differ
/// from machine to machine).
/// </summary>
public sealed record EvaluatedModel
{
    /// <summary>The model's name in <c>ModelCatalog</c>: "lmconv" or "pixelcnn++".</summary>
    public required string Kind { get; init; }

    /// <summary>The model files as given (one, or several whose weights were averaged).</summary>
    public required IReadOnlyList<string> Files { get; init; }

    /// <summary>The SHA-256 of each file's bytes, in lower-case hexadecimal, in the order of <see cref="Files"/>.</summary>
    public required IReadOnlyList<string> Sha256 { get; init; }

    /// <summary>Which weights: "trained", "ema" (the moving average of the weights) or "mean" (the mean of several files' weights).</summary>
    public required string Weights { get; init; }

    /// <summary>The training step recorded in the file, or null.</summary>
    public long? Step { get; init; }

    /// <summary>The model's size and likelihood in words, for people ("16 filters, 1 block, BinaryLikelihood").</summary>
    public required string Description { get; init; }

    /// <summary>The options that changed how the file was read (an override of its normalization, a choice of orders), or "".</summary>
    public required string Loading { get; init; }

    /// <summary>Whether <paramref name="other"/> describes the same model (the files' paths and the description aside).</summary>
    /// <param name="other">The other model.</param>
    public bool SameModelAs(EvaluatedModel other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Kind == other.Kind && Sha256.SequenceEqual(other.Sha256) && Weights == other.Weights && Loading == other.Loading;
    }
}
