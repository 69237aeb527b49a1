namespace LocallyMasked.Checkpoints;

/// <summary>
/// A checkpoint could not be read or does not fit the model. When keys are at fault, the message and the
/// properties list every missing, unexpected and mis-shaped key.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public CheckpointException(string message) : this(message, null)
    {
    }

    /// <summary>Creates the exception with a message and the underlying failure.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The failure that caused it, or null.</param>
    public CheckpointException(string message, Exception? innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key mismatch; the message lists the keys.</summary>
    /// <param name="source">Where the state dict came from (a path or a description).</param>
    /// <param name="missingKeys">Keys the model has and the checkpoint lacks.</param>
    /// <param name="unexpectedKeys">Keys the checkpoint has and the model lacks.</param>
    /// <param name="mismatchedShapes">Keys whose shapes differ, formatted "key: checkpoint (..) vs model (..)".</param>
    public CheckpointException(string source, IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys,
        IReadOnlyList<string> mismatchedShapes)
        : base(Describe(source, missingKeys, unexpectedKeys, mismatchedShapes))
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        MismatchedShapes = mismatchedShapes;
    }

    /// <summary>Keys the model has and the checkpoint lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; } = Array.Empty<string>();

    /// <summary>Keys the checkpoint has and the model lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; } = Array.Empty<string>();

    /// <summary>Keys present in both with different shapes ("key: checkpoint (..) vs model (..)").</summary>
    public IReadOnlyList<string> MismatchedShapes { get; } = Array.Empty<string>();

    private static string Describe(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapes)
    {
        var parts = new List<string> { $"The state dict from {source} does not fit the model." };
        if (missing.Count > 0) parts.Add($"Missing keys ({missing.Count}): {string.Join(", ", missing)}.");
        if (unexpected.Count > 0) parts.Add($"Unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}.");
        if (shapes.Count > 0) parts.Add($"Mis-shaped keys ({shapes.Count}): {string.Join("; ", shapes)}.");
        return string.Join(" ", parts);
    }
}
