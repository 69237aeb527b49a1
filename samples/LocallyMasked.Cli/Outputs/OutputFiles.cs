namespace LocallyMasked.Cli.Outputs;

/// <summary>
/// The files a command is about to write, checked before any work: a file of the same name already in the output
/// folder (the samples.png that train wrote, the sheets of an earlier run) is replaced only with --force; otherwise the
/// command stops with one line naming it.
/// </summary>
public static class OutputFiles
{
    /// <summary>Checks that none of the files the command will write is in <paramref name="folder"/>, unless <paramref name="force"/>.</summary>
    /// <param name="folder">The --output folder (it may not exist yet).</param>
    /// <param name="planned">Whether a file name is one the command will write (names, not paths: the folder is searched once).</param>
    /// <param name="force">--force: replace them.</param>
    /// <exception cref="InputError">A planned file exists and <paramref name="force"/> is false.</exception>
    public static void CheckFree(string folder, Func<string, bool> planned, bool force)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(planned);
        if (force || !Directory.Exists(folder)) return;
        var there = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(name => planned(name!)).Order(StringComparer.Ordinal).ToArray();
        if (there.Length == 0) return;
        string which = there.Length == 1
            ? $"{there[0]} is there already"
            : $"{there.Length} of the files this run writes are there already ({string.Join(", ", there.Take(3))}{(there.Length > 3 ? ", ..." : "")})";
        throw new InputError($"--output {folder}: {which} from an earlier run; give --force to replace {(there.Length == 1 ? "it" : "them")}, or another --output.");
    }

    /// <summary>As <see cref="CheckFree(string, Func{string, bool}, bool)"/> for a list of file names.</summary>
    /// <param name="folder">The --output folder.</param>
    /// <param name="names">The file names the command will write.</param>
    /// <param name="force">--force.</param>
    public static void CheckFree(string folder, IReadOnlyCollection<string> names, bool force)
    {
        ArgumentNullException.ThrowIfNull(names);
        var set = new HashSet<string>(names, StringComparer.Ordinal);
        CheckFree(folder, set.Contains, force);
    }
}
