using LocallyMasked.Cli.Logs;
using LocallyMasked.Training;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The steps of a <c>train</c> run: train to the target step, saving a checkpoint every --checkpoint-every steps and
/// logging every step, until the target, the --minutes budget, a signal or a diverging loss stops it.
/// </summary>
public static class TrainingLoop
{
    /// <summary>
    /// Trains and reports how the training ended: the time taken and the checkpoint on success; the last good checkpoint
    /// when the loss diverged; that nothing was saved when no step ran.
    /// </summary>
    /// <param name="trainer">The trainer (resumed when the run continues one).</param>
    /// <param name="settings">The command's settings (target step, budget, checkpoint file and period, output folder).</param>
    /// <param name="setup">What the run trains.</param>
    /// <param name="terminal">Where progress, logs and errors go.</param>
    /// <returns>The exit code when the run ends here (diverged, interrupted, or nothing trained); null when it goes on to
    /// the final evaluation and samples.</returns>
    public static int? Run(Trainer trainer, TrainSettings settings, TrainingSetup setup, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(terminal);
        bool bpd = setup.Dataset.ReportsBitsPerDimension;
        long target = settings.Steps, firstStep = trainer.Step;
        string? lastGood = settings.Resume?.Path;
        long lastGoodStep = firstStep;
        TrainingDivergedException? diverged = null;
        int? signal;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var log = new TrainingLog(settings.Output, setup.Train.ImageSize, setup.Resumed is null ? null : firstStep);
        using (var interrupts = new Interrupts(terminal, "stopping after this step and saving a checkpoint"))
        {
            // The time budget stops training like Ctrl+C does, but the run then goes on to evaluate and sample.
            using var budget = new CancellationTokenSource();
            if (settings.Minutes is { } minutes) budget.CancelAfter(TimeSpan.FromMinutes(minutes));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupts.Token, budget.Token);
            try
            {
                terminal.WithProgress("training", target, line =>
                {
                    var reporter = new TrainingReporter(line, log, terminal, bpd, target);
                    while (trainer.Step < target && !stop.IsCancellationRequested)
                    {
                        // A libtorch error is a bug: it is not retried (CliApp reports it with exit code 70).
                        trainer.Train(Math.Min(target, (trainer.Step / settings.CheckpointEvery + 1) * settings.CheckpointEvery), reporter, stop.Token);
                        // A second Ctrl+C while the checkpoint is written lets the write finish: no temporary file is left.
                        using (interrupts.Protect("the checkpoint")) trainer.Save(settings.CheckpointPath);
                        lastGood = settings.CheckpointPath;
                        lastGoodStep = trainer.Step;
                    }
                }, percentStep: 2, initial: firstStep);
            }
            catch (TrainingDivergedException e)
            {
                diverged = e;
            }
            if (budget.IsCancellationRequested && !interrupts.Token.IsCancellationRequested)
                terminal.Line($"the {settings.Minutes} minute budget is spent");
            signal = interrupts.ExitCode;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        long ran = (diverged?.Step ?? trainer.Step) - firstStep;
        if (log.WritePlot(bpd) is { } plot) terminal.Line($"logs: {log.CsvPath}, {log.TensorBoardFolder}/, {plot}");
        if (diverged is not null)
        {
            string kept = lastGood is null ? "no checkpoint was saved" : $"the last good checkpoint is {lastGood} (step {lastGoodStep})";
            terminal.Error.WriteLine($"lmconv: training stopped: {diverged.Message} {char.ToUpperInvariant(kept[0])}{kept[1..]}.");
            return ExitCodes.Diverged;
        }
        if (ran == 0)
        {
            terminal.Error.WriteLine(signal is null
                ? "lmconv: no step was trained: the --minutes budget ran out before the first step; nothing was saved."
                : "lmconv: stopped before the first step; nothing was saved.");
            return signal ?? ExitCodes.BadInput;
        }
        terminal.Line($"trained {ran} steps in {seconds:F0} s ({seconds / ran:F3} s/step); checkpoint {settings.CheckpointPath} at step {trainer.Step}");
        return signal;
    }
}
