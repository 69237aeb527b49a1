using System.Collections.Concurrent;
using System.Diagnostics;

namespace LocallyMasked.Checkpoints;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content: the data goes to a temporary
/// file beside the target, is flushed to disk, and then replaces the target by a rename. If writing fails at any
/// point the temporary file is removed and the previous file is left as it was. A process killed while writing leaves
/// its temporary file behind; the next write of the same target removes such orphans.
/// </summary>
internal static class AtomicFile
{
    // Temporary files this process is writing now (never orphans, whatever their process id says).
    private static readonly ConcurrentDictionary<string, byte> InFlight = new(StringComparer.Ordinal);

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, atomically.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"{path}: has no parent folder.", nameof(path));
        Directory.CreateDirectory(folder);
        // Same folder, so that the final rename never crosses file systems (a cross-device move is a copy, not atomic).
        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        InFlight[temporary] = 0;
        try
        {
            RemoveOrphans(folder, Path.GetFileName(full));
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        finally
        {
            InFlight.TryRemove(temporary, out _);
        }
    }

    /// <summary>
    /// Deletes the temporary files <c>.NAME.PID.GUID.tmp</c> that earlier writes of <paramref name="name"/> left in
    /// <paramref name="folder"/> when their process was killed: those of processes that no longer run, and those of this
    /// process that it is not writing (a restarted container may give the new process the old one's id). Files of
    /// another running process are kept (it may be writing the same target now).
    /// </summary>
    /// <param name="folder">The target's folder.</param>
    /// <param name="name">The target's file name.</param>
    /// <returns>The paths deleted.</returns>
    internal static IReadOnlyList<string> RemoveOrphans(string folder, string name)
    {
        var removed = new List<string>();
        string prefix = "." + name + ".";
        foreach (var path in Directory.EnumerateFiles(folder, ".*.tmp"))
        {
            string file = Path.GetFileName(path);
            if (!file.StartsWith(prefix, StringComparison.Ordinal) || InFlight.ContainsKey(path)) continue;
            var parts = file[prefix.Length..^".tmp".Length].Split('.');
            if (parts.Length != 2 || !int.TryParse(parts[0], out int pid) || parts[1].Length != 32 || !parts[1].All(Uri.IsHexDigit)) continue;
            if (pid != Environment.ProcessId && IsRunning(pid)) continue;
            try
            {
                File.Delete(path);
                removed.Add(path);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
