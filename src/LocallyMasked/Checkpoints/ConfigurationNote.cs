namespace LocallyMasked.Checkpoints;

/// <summary>
/// A setting of a loaded model that the file did not decide: either assumed (the file does not record it; the published
/// models' value was taken) or overridden (the caller asked for another value than the file records).
/// </summary>
/// <param name="Setting">The <see cref="Models.PixelCnnConfig"/> property, e.g. <c>Normalization</c> or <c>MaxDilation</c>.</param>
/// <param name="Value">The value the model uses.</param>
/// <param name="FileValue">For an override, the value the file records or implies; null for an assumption.</param>
public sealed record ConfigurationNote(string Setting, string Value, string? FileValue)
{
    /// <summary>Whether the caller's value replaced one the file records (else the value was assumed).</summary>
    public bool IsOverride => FileValue is not null;
}
