using LocallyMasked.Training;

namespace LocallyMasked.Cli;

/// <summary>Prints training progress on one console line (a bar, the running loss, the speed and the time left).</summary>
public sealed class ProgressBar : IProgress<TrainingProgress>
{
    private readonly bool bitsPerDimension;
    private readonly TextWriter output;
    private readonly bool interactive;
    private DateTime lastPrint = DateTime.MinValue;

    /// <summary>Creates a progress printer.</summary>
    /// <param name="bitsPerDimension">Report bits per dimension (true) or nats per image (false).</param>
    /// <param name="output">Where to print; the console when null.</param>
    public ProgressBar(bool bitsPerDimension, TextWriter? output = null)
    {
        this.bitsPerDimension = bitsPerDimension;
        this.output = output ?? Console.Out;
        interactive = output is null && !Console.IsOutputRedirected;
    }

    /// <summary>Prints one report (at most a few per second on a terminal; every tenth step or evaluation otherwise).</summary>
    /// <param name="value">The report.</param>
    public void Report(TrainingProgress value)
    {
        bool last = value.Step >= value.TargetStep;
        var now = DateTime.UtcNow;
        if (value.TestLoss is null && !last)
        {
            if (interactive && (now - lastPrint).TotalMilliseconds < 250) return;
            if (!interactive && value.Step % 10 != 0) return;
        }
        lastPrint = now;
        const int width = 30;
        double fraction = value.TargetStep == 0 ? 1 : Math.Min(1, (double)value.Step / value.TargetStep);
        int filled = (int)(fraction * width);
        string bar = new string('#', filled) + new string('.', width - filled);
        string loss = bitsPerDimension
            ? $"{value.RunningBitsPerDimension:F4} bpd"
            : $"{value.RunningLoss:F2} nats";
        var left = TimeSpan.FromSeconds(value.SecondsPerStep * (value.TargetStep - value.Step));
        string line = $"[{bar}] step {value.Step}/{value.TargetStep}  train {loss}  lr {value.LearningRate:0.00e+0}  " +
                      $"{value.SecondsPerStep:F3} s/step  left {left:hh\\:mm\\:ss}";
        if (value.TestLoss is { } test)
        {
            double ratio = value.RunningBitsPerDimension / value.RunningLoss;
            string testText = bitsPerDimension ? $"{test * ratio:F4} bpd" : $"{test:F2} nats";
            output.WriteLine((interactive ? "\r" : "") + line + $"  test {testText}");
        }
        else if (interactive)
        {
            output.Write("\r" + line);
            if (last) output.WriteLine();
        }
        else
        {
            output.WriteLine(line);
        }
    }
}
