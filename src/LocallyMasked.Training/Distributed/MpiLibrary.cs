using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// An MPI library of the MPICH family (MPICH, Intel MPI, MVAPICH, Cray MPICH: one ABI, <c>libmpi.so.12</c>), loaded
/// when a program first asks for it with <see cref="NativeLibrary"/>: without MPI installed nothing is loaded and
/// nothing changes. Loading checks the library's version string (MPI_Get_library_version, which MPI allows before
/// initialization) and refuses Open MPI and unknown implementations, whose handles are not MPICH's integers.
/// </summary>
public sealed class MpiLibrary
{
    private MpiLibrary(string name, string version, MpiNative native)
    {
        Name = name;
        Version = version;
        Native = native;
    }

    /// <summary>
    /// The names tried, in order, by <see cref="Load()"/>: the ABI's <c>libmpi.so.12</c> (MPICH built from source,
    /// Intel MPI, MVAPICH), then Debian's and Ubuntu's name for MPICH, <c>libmpich.so.12</c>. The dynamic loader's
    /// search path applies (<c>LD_LIBRARY_PATH</c>, which <c>module load mpich</c> sets on clusters).
    /// </summary>
    public static IReadOnlyList<string> DefaultNames { get; } = ["libmpi.so.12", "libmpich.so.12"];

    // Loaded once per process, on first use; a failure is remembered and raised again.
    private static readonly Lazy<MpiLibrary> Default = new(() => Load(DefaultNames), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The name or path the library was loaded from.</summary>
    public string Name { get; }

    /// <summary>MPI_Get_library_version's text, for example "MPICH Version: 4.0.2 ..." (several lines).</summary>
    public string Version { get; }

    /// <summary>The first line of <see cref="Version"/>, without its tabs: what to print.</summary>
    public string Summary => FirstLine(Version);

    internal MpiNative Native { get; }

    /// <summary>The MPI library of this process: the first of <see cref="DefaultNames"/> that loads (loaded once).</summary>
    /// <exception cref="MpiUnavailableException">None loads, or the one that does is not of the MPICH family.</exception>
    public static MpiLibrary Load() => Default.Value;

    /// <summary>The first of the given library names or paths that loads.</summary>
    /// <param name="names">File names (searched by the dynamic loader) or paths, tried in order.</param>
    /// <exception cref="ArgumentException">No name was given.</exception>
    /// <exception cref="MpiUnavailableException">None loads, or the one that does is not of the MPICH family.</exception>
    public static MpiLibrary Load(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var candidates = names.ToArray();
        if (candidates.Length == 0) throw new ArgumentException("Expected at least one library name or path.", nameof(names));
        foreach (var name in candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            var native = MpiNative.Bind(handle, name);
            var text = new byte[MpiAbi.MaxLibraryVersionString];
            int code = native.GetLibraryVersion(text, out int length);
            if (code != MpiAbi.Success) throw new MpiUnavailableException($"{name}: MPI_Get_library_version failed with code {code}; is it an MPI library?");
            string version = MpiNative.Text(text, length);
            if (AbiProblem(version) is { } problem) throw new MpiUnavailableException($"{name}: {problem}");
            return new MpiLibrary(name, version, native);
        }

        throw new MpiUnavailableException(
            $"MPI is not installed: none of {string.Join(", ", candidates)} could be loaded; install MPICH (apt-get install mpich) or load your cluster's MPICH-compatible MPI (module load mpich), then start the ranks with mpiexec");
    }

    /// <summary>
    /// Whether a library's version string (MPI_Get_library_version) names an implementation of MPICH's ABI: MPICH itself
    /// and its derivatives that say so (MVAPICH, MVAPICH2, Cray MPICH), or Intel MPI.
    /// </summary>
    public static bool IsMpichAbi(string libraryVersion) => AbiProblem(libraryVersion) is null;

    /// <summary>Null for an implementation of MPICH's ABI, else the one line that refuses it.</summary>
    internal static string? AbiProblem(string libraryVersion)
    {
        ArgumentNullException.ThrowIfNull(libraryVersion);
        if (libraryVersion.Contains("Open MPI", StringComparison.OrdinalIgnoreCase))
            return $"Open MPI is not supported ({FirstLine(libraryVersion)}; its handles are pointers, not MPICH's integers); install MPICH (apt-get install mpich) or use Intel MPI, MVAPICH or Cray MPICH";
        if (libraryVersion.Contains("MPICH", StringComparison.OrdinalIgnoreCase)
            || libraryVersion.Contains("MVAPICH", StringComparison.OrdinalIgnoreCase)
            || libraryVersion.Contains("Intel(R) MPI", StringComparison.OrdinalIgnoreCase))
            return null;
        return $"'{FirstLine(libraryVersion)}' is not an MPI of the MPICH family (MPICH, Intel MPI, MVAPICH, Cray MPICH), whose ABI this package uses; install MPICH (apt-get install mpich)";
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return string.Join(' ', line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }
}
