using LocallyMasked.Training.Data;
using LocallyMasked.Training.Tests.Data;

namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    // Linux's numbers (x86-64 and arm64).
    private const int SIGINT = 2, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    /// <summary>The rows of a training run's metrics.csv so far.</summary>
    private static int StepsLogged(string output)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(Path.Combine(output, "metrics.csv"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Signals and concurrent runs: SIGTERM cleans up like Ctrl+C, a second Ctrl+C during a save lets the save finish,
    /// and a second run on the same --output is refused while the first holds it.
    /// </summary>
    private static IEnumerable<ProgramCase> FaultsTable() => new ProgramCase[]
    {
        new("SIGTERM during a download leaves no temporary file and no folder", dir =>
        {
            var server = new LoopbackServer();
            foreach (var file in DatasetCatalog.Mnist.Files) server.Files[file.Name] = new byte[file.Size ?? 1 << 20];
            return new ProgramRun("download", "mnist", "--to", "data/mnist", "--mirror", new Uri(server.BaseUrl, "stall/").ToString())
            {
                During = program =>
                {
                    program.WaitUntil(() => Directory.Exists(Path.Combine(dir, "data", "mnist"))
                        && Directory.EnumerateFiles(Path.Combine(dir, "data", "mnist"), "*.tmp").Any(), TimeSpan.FromSeconds(15))
                        .Should().BeTrue($"the download should start; stderr: {program.Err}");
                    program.Signal(SIGTERM);
                },
                After = server.Dispose,
                ErrorLines = 2,
            };
        }, ExitCodes.Terminated, "download of mnist into data/mnist cancelled"),
        new("a second Ctrl+C during the first save lets the save finish and leaves no temporary file", dir =>
            new ProgramRun(TrainTiny("--steps", "1000", "--filters", "96", "--checkpoint-every", "1000"))
            {
                During = program =>
                {
                    // The first row of metrics.csv is written after the signal handlers are in place; the checkpoint
                    // (50 MB with Adam's state) takes a moment to write.
                    program.WaitUntil(() => StepsLogged(Path.Combine(dir, "out")) > 0, TimeSpan.FromSeconds(15)).Should().BeTrue(program.Err);
                    program.Signal(SIGINT);
                    // The save lasts tens of milliseconds: a poller that sleeps can miss it on a loaded machine, so this one
                    // spins, and the program is stopped (SIGSTOP) as soon as the temporary file is seen, so that the second
                    // Ctrl+C is pending before the save can go on.
                    string output = Path.Combine(dir, "out");
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    bool saving = false;
                    while (!saving && clock.Elapsed < TimeSpan.FromSeconds(15) && !program.Process.HasExited)
                        saving = Directory.Exists(output) && Directory.EnumerateFiles(output, ".model.ckpt.*.tmp").Any();
                    if (saving) program.Signal(SIGSTOP);
                    saving.Should().BeTrue($"the first save should start; stderr: {program.Err}");
                    program.Signal(SIGINT);
                    program.Signal(SIGCONT);
                },
                Leaves = new[] { "out", "out/model.ckpt", "out/metrics.csv", "out/tensorboard/", "out/learning-curves.png" },
                Then = () => LocallyMasked.Checkpoints.CheckpointMetadata.Read(Path.Combine(dir, "out", "model.ckpt")).Step.Should().BeGreaterThan(0),
                ErrorLines = 3,
            }, ExitCodes.Interrupted, "Ctrl+C"),
        new("a second train on the same --output is refused while the first runs", dir =>
        {
            var first = RunningProgram.Start(TrainTiny("--steps", "100000", "--checkpoint-every", "100000"), dir);
            first.WaitForOutput("model:", TimeSpan.FromSeconds(15)).Should().BeTrue(first.Err);
            // Stopped while the second run is tried: it keeps its lock, and its own temporary files (metrics.csv is
            // rewritten after every step) stay as the folder's snapshot before and after the second run saw them.
            first.Signal(SIGSTOP);
            return new ProgramRun(TrainTiny())
            {
                Leaves = new[] { "out/" },
                After = () =>
                {
                    first.Signal(SIGCONT);
                    first.Signal(SIGINT);
                    first.Process.WaitForExit(20_000);
                    first.Dispose();
                },
            };
        }, 1, "--output out|in use|process"),
    };
}
