using System.Collections.Concurrent;

namespace LocallyMasked.Training.Data;

/// <summary>
/// The temporary files and folders a download or an unpacking has created and not yet moved into place or deleted,
/// so that they can be deleted from another thread (a handler of process termination) as well as by the code that made
/// them. Thread-safe.
/// </summary>
internal sealed class TemporaryPaths
{
    private readonly ConcurrentDictionary<string, bool> _paths = new(StringComparer.Ordinal);

    /// <summary>Records a file or folder (true for a folder) that is about to be created.</summary>
    /// <param name="path">Its full path.</param>
    /// <param name="folder">Whether it is a folder.</param>
    public void Add(string path, bool folder) => _paths[path] = folder;

    /// <summary>Forgets a path that was moved into place.</summary>
    /// <param name="path">Its full path.</param>
    public void Forget(string path) => _paths.TryRemove(path, out _);

    /// <summary>
    /// Deletes a path now (a folder with its contents) and then forgets it; errors are ignored. Deleting before forgetting
    /// means that a path no longer recorded is already gone, whichever thread deleted it.
    /// </summary>
    /// <param name="path">Its full path.</param>
    public void Delete(string path)
    {
        if (!_paths.TryGetValue(path, out bool folder)) return;
        TryDelete(path, folder);
        _paths.TryRemove(path, out _);
    }

    /// <summary>Deletes every recorded path (folders with their contents); errors are ignored.</summary>
    public void DeleteAll()
    {
        foreach (var path in _paths.Keys) Delete(path);
    }

    private static void TryDelete(string path, bool folder)
    {
        try
        {
            if (folder && Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else if (!folder && File.Exists(path)) File.Delete(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
