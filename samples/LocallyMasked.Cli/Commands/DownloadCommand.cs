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
    /// <summary>Builds the command.</summary>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<DownloadSettings> Create(Terminal terminal)
    {
        var name = new Argument<string>("name") { Description = $"The data set: {string.Join(", ", DataDownloads.Names)}." };
        name.AcceptOnlyFromAmong(DataDownloads.Names);
        var to = new Option<string?>("--to") { Description = "Target folder (default: data/<name>)." };
        var mirror = new Option<string?>("--mirror") { Description = "Download from this base address instead (each file is fetched as URL/<file name>)." };
        var stall = new Option<double>("--stall-seconds") { Description = "Give up when no data arrives for this many seconds.", DefaultValueFactory = _ => 30 };
        var command = new Command("download", "Download a data set, verify its published checksums and unpack it; files already there and verified are kept.")
        {
            name, to, mirror, stall,
        };
        return new ProgramCommand<DownloadSettings>(command, result =>
        {
            var dataset = DatasetCatalog.Find(result.GetValue(name)!);
            if (result.GetValue(mirror) is { } address) dataset = dataset.WithMirror(DataOptions.MirrorUri(address));
            double seconds = result.GetValue(stall);
            if (!(seconds > 0 && seconds <= TimeSpan.MaxValue.TotalSeconds))
                throw new InputError($"--stall-seconds {seconds}: expected a positive number of seconds.");
            return new DownloadSettings
            {
                Dataset = dataset,
                Folder = result.GetValue(to) ?? DataDownloads.DefaultFolder(dataset),
                StallTimeout = TimeSpan.FromSeconds(seconds),
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
        try
        {
            DataDownloads.Run(settings.Dataset, settings.Folder, terminal.Out, terminal.Interactive, settings.StallTimeout);
        }
        catch (OperationCanceledException)
        {
            terminal.Error.WriteLine($"lmconv: download cancelled; no partial file was left in {settings.Folder}");
            return ExitCodes.Interrupted;
        }
        string kind = settings.Dataset.Name == Datasets.Mnist.Name ? $"mnist (or {Datasets.BinarizedMnist.Name})" : settings.Dataset.Name;
        terminal.Line($"use it with: --dataset {kind} --data {settings.Folder}");
        return ExitCodes.Success;
    }
}
