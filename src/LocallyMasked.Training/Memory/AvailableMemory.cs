using System.Globalization;

namespace LocallyMasked.Training.Memory;

/// <summary>
/// How much memory this process may still use, from the tightest of: the kernel's estimate of what can be allocated
/// without swapping (<c>MemAvailable</c> in /proc/meminfo), the room left under the process's cgroup limit (v2
/// <c>memory.max</c> or v1 <c>memory.limit_in_bytes</c>, less what the cgroup uses apart from reclaimable file cache),
/// and the .NET runtime's own limit (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's memory, a
/// container's limit or <c>DOTNET_GCHeapHardLimit</c>). Compare it with a <see cref="TrainingMemoryEstimate"/> of
/// what is yet to be allocated.
/// </summary>
/// <param name="Bytes">The bytes that may still be allocated.</param>
/// <param name="Source">Where the figure comes from, in words ("MemAvailable in /proc/meminfo", ...).</param>
/// <param name="ProcessBytes">What this process holds already (its resident memory when the figures were read).</param>
public sealed record AvailableMemory(long Bytes, string Source, long ProcessBytes)
{
    /// <summary>The most this process may hold in all: what it holds and what may still be allocated.</summary>
    public long ProcessLimit => ProcessBytes + Bytes;

    /// <summary>Reads the figures of this machine and process (Linux; elsewhere the .NET runtime's limit less what this process holds).</summary>
    public static AvailableMemory Read()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return From(ReadFile, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, process.WorkingSet64);
    }

    /// <summary>
    /// The figure from given sources (for tests): <paramref name="readFile"/> returns the text of a /proc or /sys file, or
    /// null when it does not exist.
    /// </summary>
    /// <param name="readFile">Reads a file by path.</param>
    /// <param name="runtimeLimit">The .NET runtime's limit on the whole process, in bytes.</param>
    /// <param name="resident">What the process holds now, in bytes.</param>
    public static AvailableMemory From(Func<string, string?> readFile, long runtimeLimit, long resident)
    {
        ArgumentNullException.ThrowIfNull(readFile);
        var candidates = new List<(long Bytes, string Source)> { (Math.Max(0, runtimeLimit - resident), "the .NET runtime's memory limit") };
        if (MemInfoKilobytes(readFile("/proc/meminfo"), "MemAvailable") is { } available)
            candidates.Add((available * 1024, "MemAvailable in /proc/meminfo"));
        if (CgroupRoom(readFile) is { } cgroup) candidates.Add(cgroup);
        var tightest = candidates.MinBy(c => c.Bytes);
        return new AvailableMemory(tightest.Bytes, tightest.Source, resident);
    }

    /// <summary>The memory as a person reads it: "3.41 GiB", "512 MiB".</summary>
    /// <param name="bytes">A number of bytes.</param>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 40 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 40):0.0} TiB"),
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0} MiB"),
    };

    /// <summary>The room left under the cgroup's limit, v2 first, then v1; null without a limit.</summary>
    private static (long Bytes, string Source)? CgroupRoom(Func<string, string?> readFile)
    {
        var lines = (readFile("/proc/self/cgroup") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // v2: "0::/path", files under /sys/fs/cgroup/path; inside a container the mount is often the cgroup itself.
        if (lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal)) is { } unified)
        {
            foreach (var folder in Folders("/sys/fs/cgroup", unified[3..]))
            {
                if (readFile($"{folder}/memory.max")?.Trim() is not { } max) continue;
                if (max == "max" || !long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out long limit)) break;
                long used = Number(readFile($"{folder}/memory.current")) ?? 0;
                long cache = Stat(readFile($"{folder}/memory.stat"), "inactive_file") ?? 0;
                return (Math.Max(0, limit - (used - cache)), "the cgroup's memory.max");
            }
        }
        // v1: "N:memory:/path", files under /sys/fs/cgroup/memory/path.
        if (lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory")) is { } v1)
        {
            foreach (var folder in Folders("/sys/fs/cgroup/memory", v1[2]))
            {
                if (Number(readFile($"{folder}/memory.limit_in_bytes")) is not { } limit) continue;
                if (limit >= 1L << 62) break;   // no limit: the kernel writes a page-rounded long.MaxValue
                long used = Number(readFile($"{folder}/memory.usage_in_bytes")) ?? 0;
                long cache = Stat(readFile($"{folder}/memory.stat"), "total_inactive_file") ?? 0;
                return (Math.Max(0, limit - (used - cache)), "the cgroup's memory.limit_in_bytes");
            }
        }
        return null;
    }

    /// <summary>The cgroup's own folder, then the mount's root (a container that mounts its cgroup there).</summary>
    private static IEnumerable<string> Folders(string mount, string path)
    {
        path = path.Trim();
        if (path.Length > 1) yield return mount + path.TrimEnd('/');
        yield return mount;
    }

    private static long? Number(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : null;

    private static long? Stat(string? text, string key)
    {
        foreach (var line in (text ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key) return Number(parts[1]);
        }
        return null;
    }

    private static long? MemInfoKilobytes(string? text, string key)
    {
        foreach (var line in (text ?? "").Split('\n'))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return Number(line[(key.Length + 1)..].Replace("kB", "", StringComparison.Ordinal));
        return null;
    }

    private static string? ReadFile(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
