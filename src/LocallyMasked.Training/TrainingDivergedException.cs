namespace LocallyMasked.Training;

/// <summary>
/// A training step produced a loss or a gradient that is NaN or infinite. The trainer throws it before the update, so
/// the model, the optimizer and the weight average still hold the state after the last good step (and a checkpoint
/// saved earlier stays the last good one). The message says what is known: whether any update had been made (before
/// the first one, the learning rate cannot be the cause) and the first tensor found not finite.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for a step.</summary>
    /// <param name="step">The step (0-based) that was refused.</param>
    /// <param name="value">The value that is not finite.</param>
    /// <param name="what">What the value is ("loss" or "gradient norm").</param>
    public TrainingDivergedException(long step, double value, string what)
        : this(step, value, what, firstNonFinite: null)
    {
    }

    /// <summary>Creates the exception for a step, naming the first tensor found not finite.</summary>
    /// <param name="step">The step (0-based) that was refused; 0 means no update had been made.</param>
    /// <param name="value">The value that is not finite.</param>
    /// <param name="what">What the value is ("loss" or "gradient norm").</param>
    /// <param name="firstNonFinite">The first tensor found not finite (for example "parameter 'u_init.weight'"), or null.</param>
    public TrainingDivergedException(long step, double value, string what, string? firstNonFinite)
        : base(Describe(step, value, what, firstNonFinite))
    {
        Step = step;
        Value = value;
        FirstNonFinite = firstNonFinite;
    }

    /// <summary>The step (0-based) whose update was refused; training had completed <see cref="Step"/> steps.</summary>
    public long Step { get; }

    /// <summary>The value that is not finite (NaN or an infinity).</summary>
    public double Value { get; }

    /// <summary>The first tensor found not finite, when one was found.</summary>
    public string? FirstNonFinite { get; }

    private static string Describe(long step, double value, string what, string? first)
    {
        string found = first is null ? "" : $" The first tensor that is not finite: {first}.";
        if (step == 0)
        {
            // Nothing has been updated yet: the weights are the initial (or loaded) ones, so the learning rate is not it.
            return $"the {what} became {value} at step 1, before any update, so the learning rate is not the cause: the initial " +
                   $"or loaded weights, the data or the model computed it.{found}";
        }
        return $"the {what} became {value} at step {step + 1}, after {step} updates; training stopped before that step's update.{found} " +
               "Lower the learning rate or clip the gradients.";
    }
}
