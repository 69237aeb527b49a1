using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace LocallyMasked.Cli;

/// <summary>
/// Where a command writes: on a terminal, Spectre.Console's live progress bars and tables; when the output is
/// redirected (a log file, a pipe, a test), plain lines only — a progress line every few percent with the time left,
/// tables with ASCII borders, no colours and no cursor movement.
/// </summary>
public sealed class Terminal
{
    /// <summary>Creates a terminal on two writers.</summary>
    /// <param name="output">Standard output (results and progress).</param>
    /// <param name="error">Standard error (the one-line error messages and warnings).</param>
    /// <param name="interactive">Live display or plain lines; by default live only when <paramref name="output"/> is the
    /// process's own standard output, on a terminal.</param>
    public Terminal(TextWriter output, TextWriter error, bool? interactive = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        Out = output;
        Error = error;
        Interactive = interactive ?? (ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected
            && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb"));
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = Interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = Interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = Interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
    }

    /// <summary>A terminal that prints nothing at all (the ranks of an MPI job other than rank 0, whose errors are reported apart).</summary>
    public static Terminal Muted { get; } = new(TextWriter.Null, TextWriter.Null, interactive: false);

    /// <summary>
    /// This terminal with what it prints for people moved to standard error, so that standard output carries a result
    /// alone (<c>--json -</c>): live progress only when standard error is the process's own, on a terminal.
    /// </summary>
    public Terminal OnStandardError() => new(Error, Error, ReferenceEquals(Error, System.Console.Error) && !System.Console.IsErrorRedirected
        && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb"));

    private readonly HashSet<string> warned = new(StringComparer.Ordinal);

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; }

    /// <summary>Whether progress is drawn live (a terminal) rather than as plain lines.</summary>
    public bool Interactive { get; }

    /// <summary>The Spectre.Console console on <see cref="Out"/>.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Writes a line of plain text (above a live progress bar when one is shown).</summary>
    /// <param name="text">The text (not markup).</param>
    public void Line(string text = "")
    {
        if (Interactive) Console.Write(new Text(text + "\n"));
        else Out.WriteLine(text);
    }

    /// <summary>Writes a warning on standard error, on one line (control characters from names escaped), once: the same warning again is not repeated.</summary>
    /// <param name="text">The warning.</param>
    public void Warn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (warned)
            if (!warned.Add(text)) return;
        Error.WriteLine($"lmconv: warning: {OneLineText.Escape(text)}");
    }

    /// <summary>Writes a table: rounded borders on a terminal, ASCII ones in a log.</summary>
    /// <param name="table">The table.</param>
    public void Write(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Border(Interactive ? TableBorder.Rounded : TableBorder.Ascii);
        Console.Write(table);
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a progress indicator from <paramref name="initial"/> to <paramref name="total"/>:
    /// a live bar on a terminal, or a plain line every <paramref name="percentStep"/> percent with the time left.
    /// </summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="description">What is being done ("evaluating").</param>
    /// <param name="total">The amount of work.</param>
    /// <param name="work">The work; it reports through the <see cref="ProgressLine"/> it is given.</param>
    /// <param name="percentStep">Percent between plain lines.</param>
    /// <param name="initial">Work already done before (a resumed run).</param>
    public T WithProgress<T>(string description, long total, Func<ProgressLine, T> work, double percentStep = 5, long initial = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Interactive) return work(new PlainProgress(this, description, total, percentStep, initial));
        T result = default!;
        Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
                task.Value = initial;
                result = work(new LiveProgress(task, description));
            });
        return result;
    }

    /// <summary>As <see cref="WithProgress{T}"/>, without a result.</summary>
    /// <param name="description">What is being done.</param>
    /// <param name="total">The amount of work.</param>
    /// <param name="work">The work.</param>
    /// <param name="percentStep">Percent between plain lines.</param>
    /// <param name="initial">Work already done before.</param>
    public void WithProgress(string description, long total, Action<ProgressLine> work, double percentStep = 5, long initial = 0) =>
        WithProgress<int>(description, total, line => { work(line); return 0; }, percentStep, initial);

    /// <summary>Receives the progress of a piece of work.</summary>
    public abstract class ProgressLine
    {
        /// <summary>Reports how much is done, with an optional detail (a loss, a speed).</summary>
        /// <param name="done">Work done so far, counting the initial amount.</param>
        /// <param name="detail">Shown after the description, or null.</param>
        public abstract void Report(long done, string? detail = null);
    }

    private sealed class LiveProgress(ProgressTask task, string description) : ProgressLine
    {
        public override void Report(long done, string? detail = null)
        {
            task.Value = done;
            task.Description = Markup.Escape(detail is null ? description : $"{description} {detail}");
        }
    }

    private sealed class PlainProgress(Terminal terminal, string description, long total, double step, long initial) : ProgressLine
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private double nextPercent = step * (Math.Floor(100.0 * initial / Math.Max(1, total) / step) + 1);
        private TimeSpan lastLine = TimeSpan.FromDays(-1);
        private bool finished;

        public override void Report(long done, string? detail = null)
        {
            // A line each time another `step` percent is done (at most one a second, so that short work stays short)
            // and one at the end.
            double percent = total <= 0 ? 100 : 100.0 * done / total;
            bool end = done >= total;
            if (finished || (!end && (percent < nextPercent || clock.Elapsed - lastLine < TimeSpan.FromSeconds(1)))) return;
            while (nextPercent <= percent) nextPercent += step;
            finished = end;
            lastLine = clock.Elapsed;
            double seconds = clock.Elapsed.TotalSeconds;
            long ran = done - initial;
            string left = ran > 0 ? Format(TimeSpan.FromSeconds(seconds / ran * Math.Max(0, total - done))) : "?";
            terminal.Out.WriteLine($"{description}: {percent,3:F0}%  {detail ?? $"{done}/{total}"}  " +
                                   $"elapsed {Format(clock.Elapsed)}, left {left}");
        }
    }

    /// <summary>A duration as h:mm:ss.</summary>
    /// <param name="time">The duration.</param>
    public static string Format(TimeSpan time) => $"{(int)time.TotalHours}:{time.Minutes:00}:{time.Seconds:00}";
}
