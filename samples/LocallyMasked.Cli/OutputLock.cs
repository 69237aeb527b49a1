using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace LocallyMasked.Cli;

/// <summary>
/// Holds an output folder for one run, so that two runs on one folder do not overwrite each other's checkpoint and logs:
/// the lock file <see cref="FileName"/> in the folder, opened with <see cref="FileShare.None"/> (an exclusive lock the
/// operating system releases when the process ends, however it ends) and holding the owner's process id, read back to
/// name the other run. A lock file left by a process that was killed is taken over (its lock died with it). Disposing
/// deletes the file, and the folder when the lock created it and it is still empty.
/// </summary>
public sealed class OutputLock : IDisposable
{
    /// <summary>The lock file's name in the output folder.</summary>
    public const string FileName = ".lmconv.lock";

    private readonly FileStream stream;
    private readonly string path;
    private readonly string? createdFolder;

    private int disposed;

    private OutputLock(FileStream stream, string path, string? createdFolder)
    {
        this.stream = stream;
        this.path = path;
        this.createdFolder = createdFolder;
        // A run that ends through Environment.Exit (a second Ctrl+C) or SIGTERM's default handling removes its lock too.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>Takes the lock on <paramref name="folder"/>, creating the folder when it is missing.</summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="option">The option that named it, for messages.</param>
    /// <exception cref="InputError">Another live run holds the folder, or the lock file cannot be written.</exception>
    public static OutputLock Take(string folder, string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = Path.GetFullPath(folder);
        string? topmostCreated = TopmostMissing(full);
        Directory.CreateDirectory(full);
        string path = Path.Combine(full, FileName);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            stream.SetLength(0);
            stream.Write(Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
            stream.Flush();
            return new OutputLock(stream, path, topmostCreated);
        }
        catch (IOException e)
        {
            RemoveCreated(full, topmostCreated);
            int? owner = Owner(path);
            string who = owner is { } pid && IsRunning(pid) ? $"another lmconv run (process {pid})" : "another process";
            throw new InputError(
                $"{option} {OneLineText.Escape(folder)}: in use by {who}, which would overwrite its checkpoint and logs; wait for it to end or choose another {option}.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            RemoveCreated(full, topmostCreated);
            throw new InputError($"{option} {OneLineText.Escape(folder)}: cannot write the lock file {FileName} ({e.Message}); name a writable folder.", e);
        }
    }

    /// <summary>
    /// The process id a lock file names, or null when it cannot be read. Read with the C library's open(2), which takes no
    /// lock: .NET would ask for a shared lock, which the owner's exclusive one refuses.
    /// </summary>
    /// <param name="path">The lock file.</param>
    public static int? Owner(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows()) return null;
        int descriptor = OpenFile(path, 0);
        if (descriptor < 0) return null;
        try
        {
            var buffer = new byte[32];
            long read = ReadFile(descriptor, buffer, buffer.Length);
            string text = read > 0 ? Encoding.ASCII.GetString(buffer, 0, (int)read) : "";
            return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        finally
        {
            CloseFile(descriptor);
        }
    }

    [DllImport("libc", EntryPoint = "open")]
    private static extern int OpenFile([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "read")]
    private static extern nint ReadFile(int descriptor, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseFile(int descriptor);

    /// <summary>Releases the lock: deletes the lock file, and the folder when the lock created it and nothing else is in it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the next run takes it over.
        }
        stream.Dispose();
        if (createdFolder is not null) RemoveCreated(Path.GetDirectoryName(path)!, createdFolder);
    }

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The topmost folder of <paramref name="full"/> that does not exist yet (what creating it creates), or null.</summary>
    private static string? TopmostMissing(string full)
    {
        string? missing = null;
        for (string? folder = full; folder is not null && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder)) missing = folder;
        return missing;
    }

    /// <summary>Removes the empty folders from <paramref name="full"/> up to <paramref name="topmost"/> (those the lock created).</summary>
    private static void RemoveCreated(string full, string? topmost)
    {
        if (topmost is null) return;
        for (string? folder = full; folder is not null && folder.Length >= topmost.Length; folder = Path.GetDirectoryName(folder))
        {
            try
            {
                if (!Directory.Exists(folder) || Directory.EnumerateFileSystemEntries(folder).Any()) return;
                Directory.Delete(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
