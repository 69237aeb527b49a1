using System.CommandLine;
using LocallyMasked.Training.Data;

namespace LocallyMasked.Cli;

/// <summary>
/// The `download` command: fetches mnist, fashion-mnist or cifar10 into a folder, checking every file against its
/// published checksums, and unpacks CIFAR-10's archive; the folder is then what --data takes.
/// </summary>
public static class DownloadCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
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
        command.SetAction(result =>
        {
            var dataset = DatasetCatalog.Find(result.GetValue(name)!);
            if (result.GetValue(mirror) is { } address) dataset = dataset.WithMirror(DataSources.MirrorUri(address));
            double seconds = result.GetValue(stall);
            if (!(seconds > 0)) throw new ArgumentException($"--stall-seconds {seconds}: expected a positive number of seconds.");
            string folder = result.GetValue(to) ?? DataDownloads.DefaultFolder(dataset);
            try
            {
                DataDownloads.Run(dataset, folder, stallTimeout: TimeSpan.FromSeconds(seconds));
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"download cancelled; no partial file was left in {folder}");
                return 130;
            }
            string kind = dataset.Name == "mnist" ? "mnist (or binarized-mnist)" : dataset.Name;
            Console.WriteLine($"use it with: --dataset {kind} --data {folder}");
            return 0;
        });
        return command;
    }
}
