namespace LocallyMasked.Checkpoints.Pickles;

/// <summary>The limits a <see cref="PickleMachine"/> enforces.</summary>
internal enum PickleLimit
{
    /// <summary>The bytes of pickle read.</summary>
    Bytes,

    /// <summary>How deeply containers nest.</summary>
    Depth,

    /// <summary>How many values are pushed or remembered.</summary>
    Values,
}

/// <summary>A pickle goes beyond a limit of the reader (the file may be valid, but is refused before it costs more).</summary>
/// <param name="limit">Which limit.</param>
/// <param name="value">The limit's value.</param>
/// <param name="message">What went beyond it.</param>
internal sealed class PickleLimitException(PickleLimit limit, long value, string message) : Exception(message)
{
    /// <summary>Which limit.</summary>
    public PickleLimit Limit { get; } = limit;

    /// <summary>The limit's value.</summary>
    public long Value { get; } = value;
}
