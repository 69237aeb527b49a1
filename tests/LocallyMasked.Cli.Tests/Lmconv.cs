using System.Diagnostics;
using System.Runtime.InteropServices;
using LocallyMasked.Cli;

namespace LocallyMasked.Cli.Tests;

/// <summary>Runs the program: in-process (fast; output captured) or as a real process (signals, memory).</summary>
internal static class Lmconv
{
    /// <summary>What a run printed and returned.</summary>
    public sealed record Result(int Code, string Out, string Err)
    {
        /// <summary>Standard error's lines, without empty ones.</summary>
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Runs a command line in this process.</summary>
    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>The program's executable as built beside this test assembly's configuration.</summary>
    public static string Executable
    {
        get
        {
            var testFolder = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));   // bin/<configuration>/<tfm>
            string framework = testFolder.Name, configuration = testFolder.Parent!.Name;
            var root = testFolder;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "LocallyMasked.sln"))) root = root.Parent;
            if (root is null) throw new InvalidOperationException("The repository root (LocallyMasked.sln) is not above the test assembly.");
            string path = Path.Combine(root.FullName, "samples", "LocallyMasked.Cli", "bin", configuration, framework, "lmconv");
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: build the samples program first.", path);
            return path;
        }
    }

    /// <summary>Starts the program as a process with its output redirected (read asynchronously into the returned buffers).</summary>
    public static (Process Process, System.Text.StringBuilder Out, System.Text.StringBuilder Err) Start(params string[] args)
    {
        var info = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        var error = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output, error);
    }

    /// <summary>Waits (polling) until <paramref name="condition"/> holds or the process has exited; false on a time-out.</summary>
    public static bool WaitUntil(Process process, Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (condition()) return true;
            if (process.HasExited) return condition();
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>The resident set size of a running process, from /proc (Linux).</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        throw new InvalidOperationException($"No VmRSS for process {pid}.");
    }

    /// <summary>
    /// Sends a POSIX signal to a process, through kill(2) rather than by starting kill(1): a test that signals a program at a
    /// point it has reached (a save under way) must not lose milliseconds to starting a process on a loaded machine.
    /// </summary>
    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>
    /// Lets the programs this process starts receive Ctrl+C. A shell without job control starts a background command
    /// (`dotnet test ... &amp;`) with SIGINT ignored, children inherit that, and the program rightly keeps it (as under nohup),
    /// so a test that sends SIGINT would see nothing happen. SIGINT's default action is restored in this test process
    /// (which never handles it) before its children are started.
    /// </summary>
    public static void LetChildrenReceiveSigint()
    {
        const int sigint = 2;
        string? ignored = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (ignored is null || (Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (sigint - 1))) == 0) return;
        if (SetSignal(sigint, IntPtr.Zero) == new IntPtr(-1))
            throw new InvalidOperationException($"signal(SIGINT, SIG_DFL) failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr SetSignal(int signal, IntPtr handler);

    /// <summary>Arguments that train a tiny model in about a second.</summary>
    /// <param name="output">The output folder.</param>
    /// <param name="steps">The steps.</param>
    /// <param name="more">More options; an option given here replaces the tiny run's value for it.</param>
    public static string[] TinyTraining(string output, int steps, params string[] more)
    {
        var tiny = new[] { "--steps", steps.ToString(), "--filters", "4", "--orders", "2", "--batch-size", "4", "--train-images", "64",
            "--eval-every", "0", "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1", "--output", output };
        var args = new List<string> { "train" };
        for (int i = 0; i < tiny.Length; i += 2)
            if (!more.Contains(tiny[i])) args.AddRange(new[] { tiny[i], tiny[i + 1] });
        args.AddRange(more);
        return args.ToArray();
    }
}
