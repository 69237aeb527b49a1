using LocallyMasked.Cli.Logs;
using LocallyMasked.Training;

namespace LocallyMasked.Cli.Commands;

/// <summary>Turns the trainer's reports into progress, log rows, test lines and a warning when the loss climbs.</summary>
/// <param name="line">The progress line.</param>
/// <param name="log">The run's log.</param>
/// <param name="terminal">Where test lines and the warning go.</param>
/// <param name="bitsPerDimension">Report bits per dimension (8-bit data) rather than nats per image.</param>
/// <param name="target">The step the run trains to.</param>
public sealed class TrainingReporter(Terminal.ProgressLine line, TrainingLog log, Terminal terminal, bool bitsPerDimension, long target) : IProgress<TrainingProgress>
{
    /// <summary>Running losses from this step on count for the warning (the first steps' losses fall steeply).</summary>
    private const int WarmUpSteps = 20;

    private double lowest = double.PositiveInfinity;
    private bool warned;

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        log.Step(value);
        string loss = bitsPerDimension ? $"{value.RunningBitsPerDimension:F4} bpd" : $"{value.RunningLoss:F2} nats";
        line.Report(value.Step, terminal.Interactive
            ? $"{value.Step}/{target} {loss} lr {value.LearningRate:0.0e+0}"   // short: the bar needs the width
            : $"step {value.Step}/{target}  train {loss}  lr {value.LearningRate:0.00e+0}  {value.SecondsPerStep:F3} s/step");
        if (value.TestLoss is { } test)
        {
            double ratio = value.RunningBitsPerDimension / value.RunningLoss;
            terminal.Line($"step {value.Step}: test {(bitsPerDimension ? $"{test * ratio:F4} bpd" : $"{test:F2} nats")} (train {loss})");
        }
        // A running loss far above its lowest value means the steps are too large.
        if (value.Step >= WarmUpSteps) lowest = Math.Min(lowest, value.RunningLoss);
        if (!warned && value.RunningLoss > 4 * lowest && lowest > 0)
        {
            warned = true;
            terminal.Warn($"the training loss rose from {lowest:G4} to {value.RunningLoss:G4} nats by step {value.Step}; the learning rate (--lr) may be too high.");
        }
    }
}
