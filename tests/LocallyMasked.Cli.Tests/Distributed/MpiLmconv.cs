using System.Diagnostics;

namespace LocallyMasked.Cli.Tests.Distributed;

/// <summary>
/// Runs the program under MPICH's <c>mpiexec -n N</c>. Without <c>mpiexec</c> the tests fail, saying to install MPICH:
/// they are not skipped.
/// </summary>
internal static class MpiLmconv
{
    /// <summary>Runs <c>mpiexec -n ranks lmconv args</c>, killed after 3 minutes.</summary>
    public static Lmconv.Result Run(int ranks, params string[] args) =>
        Start(new[] { "-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), Lmconv.Executable }.Concat(args));

    /// <summary>Runs one rank per command line: <c>mpiexec -n 1 lmconv A : -n 1 lmconv B ...</c>.</summary>
    public static Lmconv.Result RunEach(params string[][] commandLines) =>
        Start(commandLines.SelectMany((args, i) => (i == 0 ? Array.Empty<string>() : new[] { ":" }).Concat(new[] { "-n", "1", Lmconv.Executable }).Concat(args)));

    private static Lmconv.Result Start(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Mpiexec)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"mpiexec {string.Join(' ', info.ArgumentList)} ran over 3 minutes.");
        }
        return new Lmconv.Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>MPICH's mpiexec on the PATH: Hydra by its own name first (Debian's mpiexec may point to Open MPI's), else mpiexec.</summary>
    private static string Mpiexec =>
        new[] { "mpiexec.hydra", "mpiexec.mpich", "mpiexec" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Select(folder => Path.Combine(folder, name)))
            .FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mpiexec is not installed: the multi-process tests need MPICH (apt-get install mpich).");
}
