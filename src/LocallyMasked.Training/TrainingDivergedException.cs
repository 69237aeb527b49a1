namespace LocallyMasked.Training;

/// <summary>
/// A training step produced a loss or a gradient that is NaN or infinite. The trainer throws it before the update, so
/// the model, the optimizer and the weight average still hold the state after the last good step (and a checkpoint
/// saved earlier stays the last good one).
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for a step.</summary>
    /// <param name="step">The step (0-based) that was refused.</param>
    /// <param name="value">The value that is not finite.</param>
    /// <param name="what">What the value is ("loss" or "gradient norm").</param>
    public TrainingDivergedException(long step, double value, string what)
        : base($"the {what} became {value} at step {step + 1}; training stopped before that step's update. Lower the learning rate or clip the gradients.")
    {
        Step = step;
        Value = value;
    }

    /// <summary>The step (0-based) whose update was refused; training had completed <see cref="Step"/> steps.</summary>
    public long Step { get; }

    /// <summary>The value that is not finite (NaN or an infinity).</summary>
    public double Value { get; }
}
