using System.Diagnostics;
using System.Text;

namespace LocallyMasked.Cli.Tests.Hostile;

/// <summary>
/// Runs a <see cref="ProgramCase"/>: makes its input in a fresh folder, runs the program there as a child process
/// (standard input closed, TMPDIR inside the folder), and checks that the run ends within <see cref="TimeLimit"/> with
/// its resident memory under <see cref="MemoryLimit"/> (sampled every 10 ms from /proc; the child is killed past either
/// bound), with the expected exit code and message, on one line without a stack trace when it fails, and that it left
/// the folder as it found it apart from the outputs the case names.
/// </summary>
internal static class ProgramCaseRunner
{
    /// <summary>
    /// How long a run may take. The cases end in 1 to 3 s on an idle 2-core machine (most of it starting the runtime and
    /// libtorch); the margin is for a loaded one.
    /// </summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(20);

    /// <summary>The resident memory a run may reach: a tiny training run peaks near 300 MB.</summary>
    public const long MemoryLimit = 1L << 30;

    /// <summary>Runs the case and checks its outcome.</summary>
    public static void Run(ProgramCase hostile)
    {
        string folder = Directory.CreateTempSubdirectory("lm-hostile-cli-").FullName;
        ProgramRun? run = null;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "tmp"));
            run = hostile.Arrange(folder);
            var before = Tree(folder);
            var outcome = Start(run, folder);
            string err = outcome.Err, all = outcome.Out + outcome.Err;
            outcome.Killed.Should().BeNull($"'{hostile}' must end within {TimeLimit.TotalSeconds} s under {MemoryLimit >> 20} MiB; stderr:\n{err}");
            var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (hostile.ExitCode != 0)
            {
                lines.Length.Should().BeInRange(1, run.ErrorLines, $"'{hostile}' must fail in one line; stderr:\n{err}");
                lines.Should().OnlyContain(l => l.StartsWith("lmconv: ", StringComparison.Ordinal), err);
                foreach (var fragment in hostile.Fragments) lines[^1].Should().Contain(fragment, err);
            }
            else
            {
                foreach (var fragment in hostile.Fragments) all.Should().Contain(fragment, $"stdout:\n{outcome.Out}\nstderr:\n{err}");
            }
            err.Should().NotContainAny(new[] { "Exception", "   at ", "please report" }, "no stack trace or bug report for user input");
            outcome.Code.Should().Be(hostile.ExitCode, $"stderr:\n{err}");

            var after = Tree(folder);
            var left = after.Where(p => !before.Contains(p) && !run.Leaves.Any(l => p == l.TrimEnd('/') || (l.EndsWith('/') && p.StartsWith(l, StringComparison.Ordinal)))).ToList();
            var gone = before.Where(p => !after.Contains(p)).ToList();
            left.Should().BeEmpty($"'{hostile}' must leave nothing behind but {string.Join(", ", run.Leaves)}");
            gone.Should().BeEmpty($"'{hostile}' must not delete the user's files");
            run.Then?.Invoke();
        }
        finally
        {
            run?.After?.Invoke();
            HostileFiles.DeleteTree(folder);
        }
    }

    /// <summary>What a run printed and returned, its peak resident memory, and which bound killed it (null: none).</summary>
    internal sealed record Outcome(int Code, string Out, string Err, long PeakBytes, string? Killed);

    /// <summary>Runs the program in <paramref name="folder"/> under the bounds, doing <see cref="ProgramRun.During"/> meanwhile.</summary>
    internal static Outcome Start(ProgramRun run, string folder)
    {
        using var program = RunningProgram.Start(run.Args, folder);
        string? killed = null;
        long peak = 0;
        var clock = Stopwatch.StartNew();
        using var ended = new ManualResetEventSlim();
        var watcher = new Thread(() =>
        {
            while (!ended.IsSet && !program.Process.HasExited)
            {
                long resident = program.ResidentBytes();
                peak = Math.Max(peak, resident);
                if (resident > MemoryLimit) killed = $"memory ({resident >> 20} MiB)";
                else if (clock.Elapsed > TimeLimit) killed = "time";
                if (killed is not null)
                {
                    program.Kill();
                    return;
                }
                ended.Wait(10);
            }
        }) { IsBackground = true };
        watcher.Start();
        try
        {
            run.During?.Invoke(program);
            program.Process.WaitForExit();
        }
        finally
        {
            ended.Set();
            watcher.Join();
        }
        return new Outcome(program.Process.ExitCode, program.Out, program.Err, peak, killed);
    }

    /// <summary>Every path under <paramref name="folder"/>, relative, '/'-separated; links are listed, not followed.</summary>
    internal static HashSet<string> Tree(string folder)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(folder);
        while (pending.Count > 0)
        {
            foreach (var entry in new DirectoryInfo(pending.Pop()).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                paths.Add(Path.GetRelativePath(folder, entry.FullName).Replace('\\', '/'));
                if (entry is DirectoryInfo && entry.LinkTarget is null) pending.Push(entry.FullName);
            }
        }
        return paths;
    }
}

/// <summary>The program running as a child process: its output so far, signals, waiting for a point.</summary>
internal sealed class RunningProgram : IDisposable
{
    private readonly StringBuilder output = new(), error = new();

    private RunningProgram(Process process) => Process = process;

    /// <summary>The process.</summary>
    public Process Process { get; }

    /// <summary>Standard output so far.</summary>
    public string Out
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>Standard error so far.</summary>
    public string Err
    {
        get { lock (error) return error.ToString(); }
    }

    /// <summary>
    /// Starts the program with <paramref name="args"/> in <paramref name="folder"/> (TMPDIR is its tmp/ subfolder): the
    /// build beside the tests, or the executable LMCONV_UNDER_TEST names (to run the suite against another build, such as
    /// an older one, and see which cases it fails).
    /// </summary>
    public static RunningProgram Start(IEnumerable<string> args, string folder)
    {
        Lmconv.LetChildrenReceiveSigint();
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("LMCONV_UNDER_TEST") is { Length: > 0 } other ? other : Lmconv.Executable)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.Environment["TMPDIR"] = Path.Combine(folder, "tmp");
        foreach (var a in args) info.ArgumentList.Add(a);
        var program = new RunningProgram(Process.Start(info)!);
        program.Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (program.output) program.output.AppendLine(e.Data); };
        program.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (program.error) program.error.AppendLine(e.Data); };
        program.Process.BeginOutputReadLine();
        program.Process.BeginErrorReadLine();
        program.Process.StandardInput.Close();
        return program;
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling every millisecond); false when the process ended or the time ran out first.</summary>
    public bool WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            if (condition()) return true;
            if (Process.HasExited) return condition();
            Thread.Sleep(1);
        }
        return false;
    }

    /// <summary>Waits until standard output contains <paramref name="text"/>.</summary>
    public bool WaitForOutput(string text, TimeSpan limit) => WaitUntil(() => Out.Contains(text, StringComparison.Ordinal), limit);

    /// <summary>Sends a POSIX signal (2: SIGINT, 15: SIGTERM).</summary>
    public void Signal(int signal)
    {
        if (!Process.HasExited) Lmconv.Signal(Process.Id, signal);
    }

    /// <summary>The resident memory now (0 once the process has ended).</summary>
    public long ResidentBytes()
    {
        try
        {
            return Lmconv.ResidentBytes(Process.Id);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Kills the process (SIGKILL).</summary>
    public void Kill()
    {
        try
        {
            Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already ended.
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Kill();
        Process.WaitForExit();
        Process.Dispose();
    }
}
