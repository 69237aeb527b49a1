using System.CommandLine;

namespace LocallyMasked.Cli;

/// <summary>The program's command tree (separate from Main so that tests can run commands in-process).</summary>
public static class CliApp
{
    /// <summary>Builds the root command with train, evaluate, sample, complete and orders.</summary>
    public static RootCommand CreateRootCommand()
    {
        var common = new CommonOptions();
        return new RootCommand("Locally masked PixelCNN: train, evaluate, sample, complete, and draw orders.")
        {
            TrainCommand.Create(common),
            EvaluateCommand.Create(common),
            SampleCommand.Create(common),
            CompleteCommand.Create(common),
            OrdersCommand.Create(),
            DownloadCommand.Create(),
        };
    }

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    /// <param name="args">The arguments.</param>
    public static int Run(string[] args) => CreateRootCommand().Parse(args).Invoke();
}
