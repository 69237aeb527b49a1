using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Prints download progress: on a terminal one updating line per file (bytes, rate, time left); otherwise a line every
/// ten seconds and one when a file is complete.
/// </summary>
public sealed class DownloadProgressPrinter(TextWriter output, bool interactive) : IProgress<DownloadProgress>
{
    private DateTime lastLine = DateTime.MinValue;

    /// <inheritdoc />
    public void Report(DownloadProgress value)
    {
        var now = DateTime.UtcNow;
        string total = value.TotalBytes is { } t ? $" / {Bytes(t)}" : string.Empty;
        if (value.Completed)
        {
            output.WriteLine((interactive ? "\r" : "") + $"  {value.File}: {Bytes(value.BytesDone)} at {Bytes((long)value.BytesPerSecond)}/s, checksums verified".PadRight(interactive ? 79 : 0));
            lastLine = DateTime.MinValue;
            return;
        }
        string left = value.TimeLeft is { } l ? $", {(int)l.TotalMinutes}:{l.Seconds:00} left" : string.Empty;
        string line = $"  {value.File}: {Bytes(value.BytesDone)}{total} at {Bytes((long)value.BytesPerSecond)}/s{left}";
        if (interactive)
            output.Write("\r" + line.PadRight(79));
        else if (lastLine == DateTime.MinValue)
            lastLine = now;   // the transfer starts: the first line follows after ten seconds
        else if (now - lastLine >= TimeSpan.FromSeconds(10))
        {
            output.WriteLine(line);
            lastLine = now;
        }
    }

    /// <summary>A byte count in B, kB, MB or GB (powers of 1000).</summary>
    /// <param name="bytes">The count.</param>
    public static string Bytes(long bytes) => bytes switch
    {
        < 1000 => $"{bytes} B",
        < 1_000_000 => $"{bytes / 1e3:0.#} kB",
        < 1_000_000_000 => $"{bytes / 1e6:0.#} MB",
        _ => $"{bytes / 1e9:0.##} GB",
    };
}
