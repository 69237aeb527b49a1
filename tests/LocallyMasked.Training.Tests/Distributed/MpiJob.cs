using System.Diagnostics;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// Runs the probe (tests/LocallyMasked.MpiProbe, built beside this test assembly's configuration) under MPICH's
/// <c>mpiexec</c>. Without <c>mpiexec</c> the tests fail, saying to install MPICH: they are not skipped.
/// </summary>
internal static class MpiJob
{
    private static readonly Dictionary<string, Result> Finished = [];

    /// <summary>What a job printed and returned, and how long it took.</summary>
    public sealed record Result(int Code, string Out, string Err, TimeSpan Elapsed)
    {
        /// <summary>The results rank <paramref name="rank"/> printed for a scenario: its lines "rank scenario ...", without the rank and scenario.</summary>
        public string[] Lines(int rank, string scenario) =>
            Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith($"{rank} {scenario} ", StringComparison.Ordinal))
                .Select(l => l[$"{rank} {scenario} ".Length..])
                .ToArray();

        /// <summary>Standard error's lines, without empty ones.</summary>
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        /// <summary>Everything, for an assertion's message.</summary>
        public override string ToString() => $"exit code {Code} after {Elapsed.TotalSeconds:F1} s\nstdout:\n{Out}\nstderr:\n{Err}";
    }

    /// <summary>A job's result, run once per test run (several tests read the same job).</summary>
    public static Result Cached(int ranks, params string[] args)
    {
        string key = $"{ranks} {string.Join(' ', args)}";
        lock (Finished)
        {
            if (!Finished.TryGetValue(key, out var result)) Finished[key] = result = Run(ranks, [], args);
            return result;
        }
    }

    /// <summary>Runs <c>mpiexec [options] -n ranks dotnet probe args</c>, killed after 3 minutes.</summary>
    public static Result Run(int ranks, string[] options, params string[] args)
    {
        var info = new ProcessStartInfo(Mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var option in options) info.ArgumentList.Add(option);
        foreach (var a in new[] { "-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", Probe }.Concat(args)) info.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec -n {ranks} probe {string.Join(' ', args)} ran over 3 minutes.");
        }

        return new Result(process.ExitCode, output.Result, error.Result, clock.Elapsed);
    }

    /// <summary>MPICH's mpiexec on the PATH: Hydra by its own name first (Debian's mpiexec may point to Open MPI's), else mpiexec.</summary>
    private static string Mpiexec =>
        new[] { "mpiexec.hydra", "mpiexec.mpich", "mpiexec" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(folder => Path.Combine(folder, name)))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mpiexec is not installed: the multi-process tests need MPICH (apt-get install mpich).");

    /// <summary>The probe's assembly, built with the solution.</summary>
    private static string Probe
    {
        get
        {
            var testFolder = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));   // bin/<configuration>/<tfm>
            string framework = testFolder.Name, configuration = testFolder.Parent!.Name;
            var root = testFolder;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "LocallyMasked.sln"))) root = root.Parent;
            if (root is null) throw new InvalidOperationException("The repository root (LocallyMasked.sln) is not above the test assembly.");
            string path = Path.Combine(root.FullName, "tests", "LocallyMasked.MpiProbe", "bin", configuration, framework, "LocallyMasked.MpiProbe.dll");
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: build the probe first (it is built with the solution and with this test project).", path);
            return path;
        }
    }
}
