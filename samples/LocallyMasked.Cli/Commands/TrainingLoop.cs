using LocallyMasked.Cli.Logs;
using LocallyMasked.Cli.Ranks;
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
    /// <param name="ranks">The ranks of an MPI job (rank 0 alone writes the log and the checkpoints; a stop on any rank
    /// stops all after the same step); null: this process alone.</param>
    /// <returns>The exit code when the run ends here (diverged, interrupted, or nothing trained); null when it goes on to
    /// the final evaluation and samples.</returns>
    public static int? Run(Trainer trainer, TrainSettings settings, TrainingSetup setup, Terminal terminal, TrainingRanks? ranks = null)
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
        bool distributed = ranks is { IsDistributed: true }, writes = ranks?.IsRoot ?? true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var log = writes ? new TrainingLog(settings.Output, setup.Train.ImageSize, setup.Resumed is null ? null : firstStep) : null;
        bool budgetSpent;
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
                    var reporter = log is null ? null : new TrainingReporter(line, log, terminal, bpd, target);
                    // Ranks stop when they agree to (the trainer's exchange in every step), never on their own signal alone.
                    while (trainer.Step < target && !trainer.Stopped && (distributed || !stop.IsCancellationRequested))
                    {
                        // A libtorch error is a bug: it is not retried (CliApp reports it with exit code 70).
                        long before = trainer.Step;
                        trainer.Train(Math.Min(target, (trainer.Step / settings.CheckpointEvery + 1) * settings.CheckpointEvery), reporter, stop.Token);
                        if (trainer.Step == before) continue;
                        // A second Ctrl+C while the checkpoint is written lets the write finish: no temporary file is left.
                        if (writes)
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
            signal = interrupts.ExitCode;
            budgetSpent = budget.IsCancellationRequested;
            if (distributed)
            {
                // Every rank learns why the ranks stopped, so that all end alike.
                var (agreed, spent, signalled) = ranks!.AgreeWhyStopped(signal, budgetSpent);
                if (signalled.Any(r => r != 0))
                    terminal.Error.WriteLine($"lmconv: stopped on every rank after step {trainer.Step}: {(signalled.Length == 1 ? "rank" : "ranks")} {string.Join(", ", signalled)} received {(agreed == ExitCodes.Terminated ? "SIGTERM" : "Ctrl+C")}.");
                (signal, budgetSpent) = (agreed, spent);
            }
            if (budgetSpent && signal is null)
                terminal.Line($"the {settings.Minutes} minute budget is spent");
        }

        double seconds = clock.Elapsed.TotalSeconds;
        long ran = (diverged?.Step ?? trainer.Step) - firstStep;
        if (log?.WritePlot(bpd) is { } plot) terminal.Line($"logs: {log.CsvPath}, {log.TensorBoardFolder}/, {plot}");
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
