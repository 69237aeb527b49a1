using System.Globalization;
using System.Text;
using LocallyMasked.Training;
using TorchSharp;

namespace LocallyMasked.Cli.Logs;

/// <summary>
/// The record of a training run in its output folder: <c>metrics.csv</c> (one row per step), TensorBoard event files
/// under <c>tensorboard/</c> (TorchSharp's SummaryWriter), and at the end <c>learning-curves.png</c> drawn from the CSV.
/// A resumed run keeps the rows up to the checkpoint's step and appends to them (rows a killed run wrote after its last
/// checkpoint are dropped), so the CSV always describes the run that the checkpoint continues.
/// </summary>
public sealed class TrainingLog : IDisposable
{
    /// <summary>The CSV header.</summary>
    public const string Header = "step,loss_nats,running_loss_nats,loss_bpd,running_loss_bpd,learning_rate,seconds_per_step,test_nats,test_bpd,rss_mb";

    private readonly StreamWriter csv;
    private readonly TorchSharp.Modules.SummaryWriter tensorBoard;
    private readonly double natsPerBit;
    private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    private TimeSpan previous;

    /// <summary>Opens the log in <paramref name="folder"/>.</summary>
    /// <param name="folder">The run's output folder (created if needed).</param>
    /// <param name="dimensions">Values per image (channels x height x width), for bits per dimension.</param>
    /// <param name="resumedAt">The checkpoint's step when the run resumes; null for a new run (the CSV is started anew).</param>
    public TrainingLog(string folder, int dimensions, long? resumedAt)
    {
        Directory.CreateDirectory(folder);
        CsvPath = Path.Combine(folder, "metrics.csv");
        PlotPath = Path.Combine(folder, "learning-curves.png");
        TensorBoardFolder = Path.Combine(folder, "tensorboard");
        natsPerBit = dimensions * Math.Log(2);
        var kept = new List<string>();
        if (resumedAt is { } step && File.Exists(CsvPath))
        {
            var lines = File.ReadAllLines(CsvPath);
            if (lines.Length > 0 && lines[0] == Header)
                kept.AddRange(lines.Skip(1).Where(l => long.TryParse(l.Split(',')[0], CultureInfo.InvariantCulture, out long s) && s <= step));
        }
        // Rewritten beside and renamed, so that a kill at this moment leaves the previous log whole.
        string temporary = Path.Combine(folder, $".metrics.csv.{Environment.ProcessId}.tmp");
        File.WriteAllLines(temporary, kept.Prepend(Header), new UTF8Encoding(false));
        File.Move(temporary, CsvPath, overwrite: true);
        csv = new StreamWriter(CsvPath, append: true, new UTF8Encoding(false)) { AutoFlush = true };
        tensorBoard = torch.utils.tensorboard.SummaryWriter(TensorBoardFolder);
    }

    /// <summary>The CSV file.</summary>
    public string CsvPath { get; }

    /// <summary>The PNG of the learning curves.</summary>
    public string PlotPath { get; }

    /// <summary>The TensorBoard log folder.</summary>
    public string TensorBoardFolder { get; }

    /// <summary>Records a step.</summary>
    /// <param name="progress">The trainer's report.</param>
    public void Step(TrainingProgress progress)
    {
        var now = clock.Elapsed;
        double seconds = (now - previous).TotalSeconds;
        previous = now;
        double rss = Environment.WorkingSet / (1024.0 * 1024.0);
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        string test = progress.TestLoss is { } t ? $"{F(t)},{F(t / natsPerBit)}" : ",";
        csv.WriteLine($"{progress.Step},{F(progress.Loss)},{F(progress.RunningLoss)},{F(progress.Loss / natsPerBit)},{F(progress.RunningLoss / natsPerBit)}," +
                      $"{F(progress.LearningRate)},{seconds.ToString("F4", CultureInfo.InvariantCulture)},{test},{rss.ToString("F1", CultureInfo.InvariantCulture)}");

        int step = (int)Math.Min(int.MaxValue, progress.Step);
        tensorBoard.add_scalar("train/loss_nats", (float)progress.Loss, step);
        tensorBoard.add_scalar("train/running_loss_nats", (float)progress.RunningLoss, step);
        tensorBoard.add_scalar("train/running_loss_bpd", (float)(progress.RunningLoss / natsPerBit), step);
        tensorBoard.add_scalar("train/learning_rate", (float)progress.LearningRate, step);
        if (progress.TestLoss is { } testLoss)
        {
            tensorBoard.add_scalar("test/nats", (float)testLoss, step);
            tensorBoard.add_scalar("test/bpd", (float)(testLoss / natsPerBit), step);
        }
    }

    /// <summary>Draws the learning curves from the CSV (all the run's rows, before a resume too).</summary>
    /// <param name="bitsPerDimension">Plot bits per dimension (8-bit data) rather than nats per image (binarized data).</param>
    /// <returns>The PNG's path, or null when there is nothing to draw.</returns>
    public string? WritePlot(bool bitsPerDimension)
    {
        csv.Flush();
        return LearningCurves.Write(CsvPath, PlotPath, bitsPerDimension) ? PlotPath : null;
    }

    /// <summary>Closes the CSV (the TensorBoard writer closes its file after every event).</summary>
    public void Dispose() => csv.Dispose();
}
