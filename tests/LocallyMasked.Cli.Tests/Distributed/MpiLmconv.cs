using System.Diagnostics;
using System.Text;
using LocallyMasked.Checkpoints;
using static TorchSharp.torch;

namespace LocallyMasked.Cli.Tests.Distributed;

/// <summary>
/// Runs the program under MPICH's <c>mpiexec</c> (the multi-process tests fail without it, saying to install MPICH: they are not skipped), finds
/// a rank's process, and reads what a training checkpoint holds for comparisons bit for bit.
/// </summary>
internal static class MpiLmconv
{
    /// <summary>Runs <c>mpiexec -n ranks lmconv args</c>, killed after 5 minutes.</summary>
    public static Lmconv.Result Run(int ranks, params string[] args) =>
        Run(["-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture)], args);

    /// <summary>Runs one rank per command line: <c>mpiexec -n 1 lmconv A : -n 1 lmconv B ...</c>.</summary>
    public static Lmconv.Result RunEach(params string[][] commandLines) =>
        Run(["-n", "1"], [.. commandLines[0], .. commandLines.Skip(1).SelectMany(args => new[] { ":", "-n", "1", Lmconv.Executable }.Concat(args))]);

    /// <summary>Runs <c>mpiexec [options] -n ranks lmconv args</c> (or an MPMD line given whole in options), killed after 5 minutes.</summary>
    public static Lmconv.Result Run(string[] options, params string[] args)
    {
        var (process, output, error) = Start(options, args);
        using (process)
        {
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"mpiexec {string.Join(' ', options)} lmconv {string.Join(' ', args)} ran over 5 minutes.");
            }

            process.WaitForExit();
            return new Lmconv.Result(process.ExitCode, output.ToString(), error.ToString());
        }
    }

    /// <summary>Starts <c>mpiexec options lmconv args</c> with its output read into the returned buffers.</summary>
    public static (Process Process, StringBuilder Out, StringBuilder Err) Start(string[] options, params string[] args)
    {
        var info = new ProcessStartInfo(Mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in options.Append(Lmconv.Executable).Concat(args)) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output, error);
    }

    /// <summary>The process of rank <paramref name="rank"/> of a job whose command line contains <paramref name="token"/>: the one with PMI_RANK=rank in its environment (Linux).</summary>
    public static int RankProcess(int rank, string token)
    {
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out int pid)) continue;
            try
            {
                var command = File.ReadAllText(Path.Combine(folder, "cmdline")).Split('\0');
                if (!command.Contains(token) || !command.Any(a => a.EndsWith("lmconv", StringComparison.Ordinal) || a.EndsWith("lmconv.dll", StringComparison.Ordinal))) continue;
                if (File.ReadAllText(Path.Combine(folder, "environ")).Split('\0').Contains($"PMI_RANK={rank}")) return pid;
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's process.
            }
        }

        throw new InvalidOperationException($"No process of rank {rank} runs lmconv with '{token}'.");
    }

    /// <summary>A training checkpoint's model tensors (by name, as bytes) and Adam's state (its serialized bytes).</summary>
    public static (Dictionary<string, byte[]> Weights, byte[] Optimizer) State(string path)
    {
        var tensors = TrainingCheckpointFile.ReadModelTensors(path);
        try
        {
            var sections = TrainingCheckpointFile.Load(path, tensors, null);
            return (tensors.ToDictionary(t => t.Key, t => t.Value.contiguous().bytes.ToArray()), sections.OptimizerState ?? []);
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>A training checkpoint's model tensors as doubles, by name.</summary>
    public static Dictionary<string, double[]> Weights(string path)
    {
        var tensors = TrainingCheckpointFile.ReadModelTensors(path);
        try
        {
            return tensors.ToDictionary(t => t.Key, t => t.Value.to_type(ScalarType.Float64).data<double>().ToArray());
        }
        finally
        {
            foreach (var tensor in tensors.Values) tensor.Dispose();
        }
    }

    /// <summary>MPICH's mpiexec on the PATH: Hydra by its own name first (Debian's mpiexec may point to Open MPI's), else mpiexec.</summary>
    public static string Mpiexec =>
        new[] { "mpiexec.hydra", "mpiexec.mpich", "mpiexec" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(folder => Path.Combine(folder, name)))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mpiexec is not installed: the multi-process tests need MPICH (apt-get install mpich).");
}
