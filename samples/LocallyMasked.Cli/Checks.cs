namespace LocallyMasked.Cli;

/// <summary>Checks of files and folders that commands make before any work starts; each failure is an <see cref="InputError"/> naming the option.</summary>
public static class Checks
{
    /// <summary>
    /// Checks that the folder <paramref name="path"/> exists or can be created, and that files can be written in it
    /// (a probe file is created in the nearest existing folder and deleted at once). Nothing is created.
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <param name="option">The option that named it.</param>
    public static void WritableFolder(string path, string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new InputError($"{option} {path}: not a valid path ({e.Message}).", e);
        }
        if (File.Exists(full)) throw new InputError($"{option} {path}: is a file, not a folder; name a folder.");
        string? existing = full;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new InputError($"{option} {path}: cannot create the folder because {existing} is a file; name another folder.");
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) throw new InputError($"{option} {path}: no part of the path exists; name a folder on a mounted disk.");
        string probe = Path.Combine(existing, $".lmconv-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputError($"{option} {path}: cannot write in {existing} ({e.Message}); name a writable folder.", e);
        }
    }

    /// <summary>Checks that the folder of the file <paramref name="path"/> is writable (see <see cref="WritableFolder"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    public static void WritableFile(string path, string option)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new InputError($"{option} {path}: is a folder; name a file.");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? throw new InputError($"{option} {path}: has no folder.");
        WritableFolder(folder, option);
    }

    /// <summary>Checks that a file exists (before anything reads it).</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    public static void ExistingFile(string path, string option)
    {
        if (Directory.Exists(path)) throw new InputError($"{option} {path}: is a folder; name a checkpoint file.");
        if (!File.Exists(path)) throw new InputError($"{option} {path}: file not found.");
    }

    /// <summary>Checks that a folder to read exists (named as <paramref name="option"/>), before anything slow is done.</summary>
    /// <param name="path">The folder.</param>
    /// <param name="option">The option that named it.</param>
    /// <exception cref="InputError">No such folder (a file is named as not a folder).</exception>
    public static void ExistingFolder(string path, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) return;
        throw new InputError(File.Exists(path)
            ? $"{option} {OneLineText.Escape(path)}: a file, not a folder; name the folder that holds the data."
            : $"{option} {OneLineText.Escape(path)}: folder not found.");
    }
}
