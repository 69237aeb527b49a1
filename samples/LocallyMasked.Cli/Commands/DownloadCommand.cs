using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Data;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The `download` command: fetches mnist, fashion-mnist or cifar10 into a folder, checking every file against its
/// published checksums, and unpacks CIFAR-10's archive; the folder is then what --data takes.
/// </summary>
public static class DownloadCommand
{
    /// <summary>The shortest --stall-seconds: a tenth of a second (shorter gives up before any server answers).</summary>
    public const double MinStallSeconds = 0.1;

    /// <summary>The longest --stall-seconds: a day (the library's <see cref="DatasetDownloader.MaxStallTimeout"/>).</summary>
    public static double MaxStallSeconds => DatasetDownloader.MaxStallTimeout.TotalSeconds;

    /// <summary>Builds the command.</summary>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<DownloadSettings> Create(Terminal terminal)
    {
        var name = new Argument<string>("name") { Description = $"The data set: {string.Join(", ", DataDownloads.Names)}." };
        name.AcceptOnlyFromAmong(DataDownloads.Names);
        var to = new Option<string?>("--to") { Description = "Target folder (default: data/<name>)." };
        var mirror = new Option<string?>("--mirror") { Description = "Download from this base address instead (each file is fetched as URL/<file name>)." };
        var stall = new Option<double>("--stall-seconds") { Description = $"Give up when no data arrives for this many seconds (at most {MaxStallSeconds:N0}, a day).", DefaultValueFactory = _ => 30 }
            .Finite(v => v >= MinStallSeconds && v <= MaxStallSeconds, $"a number of seconds from {MinStallSeconds} to {MaxStallSeconds:N0} (a day)");
        var command = new Command("download", "Download a data set, verify its published checksums and unpack it; files already there and verified are kept.")
        {
            name, to, mirror, stall,
        };
        return new ProgramCommand<DownloadSettings>(command, result =>
        {
            var dataset = DatasetCatalog.Find(result.GetValue(name)!);
            if (result.GetValue(mirror) is { } address) dataset = dataset.WithMirror(DataOptions.MirrorUri(address));
            return new DownloadSettings
            {
                Dataset = dataset,
                Folder = result.GetValue(to) ?? DataDownloads.DefaultFolder(dataset),
                // The parser has checked the range; the library checks it again before making a TimeSpan.
                StallTimeout = DatasetDownloader.StallTimeoutFromSeconds(result.GetValue(stall)),
            };
        }, Run, terminal);
    }

    /// <summary>Downloads, verifies and unpacks; says which options use the folder.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(DownloadSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        DataDownloads.Run(settings.Dataset, settings.Folder, terminal.Out, terminal.Interactive, settings.StallTimeout, terminal.Error);
        string kind = settings.Dataset.Name == Datasets.Mnist.Name ? $"mnist (or {Datasets.BinarizedMnist.Name})" : settings.Dataset.Name;
        terminal.Line($"use it with: --dataset {kind} --data {settings.Folder}");
        return ExitCodes.Success;
    }
}
