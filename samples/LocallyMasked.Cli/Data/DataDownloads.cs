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
    /// raise <see cref="DatasetDownloadException"/> with a one-line message; Ctrl+C raises <see cref="OperationCanceledException"/>
    /// after the temporary file is deleted.
    /// </summary>
    /// <param name="dataset">The data set (with the mirror already applied).</param>
    /// <param name="folder">The target folder.</param>
    /// <param name="output">Where to print (a command's <see cref="Terminal.Out"/>).</param>
    /// <param name="interactive">Redraw one progress line per file (a terminal) rather than print a line now and then.</param>
    /// <param name="stallTimeout">Give up when no data arrives for this long (30 s when null).</param>
    public static DatasetDownloadReport Run(DatasetDescription dataset, string folder, TextWriter output, bool interactive = false, TimeSpan? stallTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine($"{dataset.Name}: {Path.GetFullPath(folder)} (from {string.Join(" or ", dataset.Mirrors)})");
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var downloader = new DatasetDownloader
            {
                Progress = new DownloadProgressPrinter(output, interactive),
                StallTimeout = stallTimeout ?? TimeSpan.FromSeconds(30),
            };
            DatasetDownloadReport report;
            try
            {
                report = downloader.DownloadAsync(dataset, folder, cancel.Token).GetAwaiter().GetResult();
            }
            catch (DatasetDownloadException e)
            {
                throw new DatasetDownloadException($"{e.Message} Then pass that folder as --data.", e.Url, e);
            }
            foreach (var name in report.AlreadyPresent) output.WriteLine($"  {name}: already there, checksums verified");
            if (report.Unpacked.Count > 0) output.WriteLine($"  unpacked {string.Join(", ", report.Unpacked)}");
            output.WriteLine($"{dataset.Name}: ready in {report.Folder} ({report.Downloaded.Count} downloaded, {report.AlreadyPresent.Count} already there)");
            return report;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
