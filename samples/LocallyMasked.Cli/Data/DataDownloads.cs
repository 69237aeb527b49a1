using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Data;

/// <summary>Runs the library's downloader for the program: progress lines, Ctrl+C, and messages that name --data.</summary>
public static class DataDownloads
{
    /// <summary>The names `download` accepts.</summary>
    public static string[] Names { get; } = DatasetCatalog.All.Select(d => d.Name).ToArray();

    /// <summary>The default folder of a downloaded data set: data/NAME under the current folder.</summary>
    /// <param name="dataset">The data set.</param>
    public static string DefaultFolder(DatasetDescription dataset) => Path.Combine("data", dataset.Name);

    /// <summary>
    /// Downloads <paramref name="dataset"/> into <paramref name="folder"/>, printing progress and a summary. Failures
    /// raise <see cref="DatasetDownloadException"/> with a one-line message; Ctrl+C or SIGTERM cancels the download, which
    /// deletes its temporary file and the folders it created, and raises <see cref="StoppedBySignalException"/>.
    /// </summary>
    /// <param name="dataset">The data set (with the mirror already applied).</param>
    /// <param name="folder">The target folder.</param>
    /// <param name="output">Where to print (a command's <see cref="Terminal.Out"/>).</param>
    /// <param name="interactive">Redraw one progress line per file (a terminal) rather than print a line now and then.</param>
    /// <param name="stallTimeout">Give up when no data arrives for this long (30 s when null).</param>
    /// <param name="error">Where the signals' notices go (standard error); nowhere when null.</param>
    public static DatasetDownloadReport Run(DatasetDescription dataset, string folder, TextWriter output, bool interactive = false, TimeSpan? stallTimeout = null,
        TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"{dataset.Name}: {Path.GetFullPath(folder)} (from {string.Join(" or ", dataset.Mirrors.Select(UrlRedaction.Redact))})");
        // SIGTERM cancels like Ctrl+C, through the same path: the downloader deletes what it started before the exception.
        using var interrupts = new Interrupts(error ?? TextWriter.Null, "cancelling the download and deleting its temporary file");
        using var downloader = new DatasetDownloader
        {
            Progress = new DownloadProgressPrinter(output, interactive),
            StallTimeout = stallTimeout ?? TimeSpan.FromSeconds(30),
        };
        // A second signal, or the process ending some other way (Environment.Exit, the runtime shutting down), ends it
        // without the cancelled download's own cleanup: the downloader deletes what it created first, from that thread.
        interrupts.BeforeForcedExit = downloader.CleanUp;
        EventHandler onExit = (_, _) => downloader.CleanUp();
        AppDomain.CurrentDomain.ProcessExit += onExit;
        DatasetDownloadReport report;
        try
        {
            report = downloader.DownloadAsync(dataset, folder, interrupts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (interrupts.ExitCode is { } code)
        {
            throw new StoppedBySignalException(code, $"download of {dataset.Name} into {folder} cancelled; no partial file was left.");
        }
        catch (DatasetDownloadException e)
        {
            throw new DatasetDownloadException($"{e.Message} Then pass that folder as --data.", e.Url, e);
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
        foreach (var name in report.AlreadyPresent) output.WriteLine($"  {name}: already there, checksums verified");
        if (report.Unpacked.Count > 0) output.WriteLine($"  unpacked {string.Join(", ", report.Unpacked)}");
        output.WriteLine($"{dataset.Name}: ready in {report.Folder} ({report.Downloaded.Count} downloaded, {report.AlreadyPresent.Count} already there)");
        return report;
    }
}
