using System.Diagnostics;

namespace LocallyMasked.TestSupport;

/// <summary>
/// One row of a hostile-input suite: its name, how to make the input (<see cref="Arrange"/> writes files into a fresh
/// folder and returns the call to make), and what must come of the call: an exception of type <see cref="Exception"/>
/// whose one-line message contains <see cref="Fragment"/>, or, when <see cref="Exception"/> is null, success. To add a
/// case, add a row to a suite's table.
/// </summary>
/// <param name="Name">What the case is, in words (the test's display name).</param>
/// <param name="Arrange">Makes the input in the given folder (not measured) and returns the call to make (measured).</param>
/// <param name="Exception">The exception type expected, or null when the call must succeed.</param>
/// <param name="Fragment">A fragment of the expected message (ignored on success).</param>
internal sealed record HostileCase(string Name, Func<string, Action> Arrange, Type? Exception, string Fragment)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// Runs <see cref="HostileCase"/>s under bounds: the call runs on its own thread and must end within
/// <see cref="TimeLimit"/>, allocate at most <see cref="AllocationLimit"/> managed bytes, and not raise the process's
/// peak resident memory by more than <see cref="PeakGrowthLimit"/> (native memory, such as tensors, included); nothing
/// is left in the folder beyond what the case made unless the case says so.
/// </summary>
internal static class HostileCases
{
    /// <summary>How long a case may take.</summary>
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(5);

    /// <summary>The managed bytes a case may allocate.</summary>
    public const long AllocationLimit = 128L << 20;

    /// <summary>How much a case may raise the process's peak resident memory.</summary>
    public const long PeakGrowthLimit = 256L << 20;

    /// <summary>Makes the case's input in a fresh folder, runs its call under the bounds and checks the outcome.</summary>
    /// <param name="hostile">The case.</param>
    public static void Run(HostileCase hostile)
    {
        var folder = Directory.CreateTempSubdirectory("lm-hostile-").FullName;
        try
        {
            var call = hostile.Arrange(folder);
            Exception? thrown = null;
            long allocated = 0;
            var thread = new Thread(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    call();
                }
                catch (Exception e)
                {
                    thrown = e;
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }, maxStackSize: 1 << 20) { IsBackground = true, Name = hostile.Name };
            long peakBefore = PeakResidentBytes();
            var clock = Stopwatch.StartNew();
            thread.Start();
            bool ended = thread.Join(TimeLimit);
            ended.Should().BeTrue($"'{hostile.Name}' must end within {TimeLimit.TotalSeconds} s");
            long peakGrowth = PeakResidentBytes() - peakBefore;

            if (hostile.Exception is null)
                thrown.Should().BeNull($"'{hostile.Name}' must succeed");
            else
            {
                thrown.Should().NotBeNull($"'{hostile.Name}' must be refused with a {hostile.Exception.Name}");
                thrown.Should().BeOfType(hostile.Exception, thrown!.ToString());
                thrown.Message.Should().Contain(hostile.Fragment).And.NotContainAny("\n", "\r");
            }
            allocated.Should().BeLessThan(AllocationLimit, $"'{hostile.Name}' must not allocate without bound ({allocated} bytes in {clock.Elapsed.TotalSeconds:0.00} s)");
            peakGrowth.Should().BeLessThan(PeakGrowthLimit, $"'{hostile.Name}' must not raise the process's peak memory without bound");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The process's peak resident memory (Linux: VmHWM), or 0 where it cannot be read.</summary>
    private static long PeakResidentBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
