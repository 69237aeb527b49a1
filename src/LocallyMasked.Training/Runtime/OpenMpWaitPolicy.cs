using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Runtime;

/// <summary>
/// Lets libtorch's OpenMP worker threads sleep rather than spin between parallel regions. On a machine whose
/// cores are shared with other processes, spinning threads stall every parallel operation for a scheduler time
/// slice: locally masked convolutions run several such operations per layer and slow down several-fold (see
/// docs/benchmarks.md). Applications call <see cref="PreferPassive"/> first thing in <c>Main</c>.
/// </summary>
public static class OpenMpWaitPolicy
{
    /// <summary>The environment variable that libgomp reads once, when libtorch loads it.</summary>
    public const string Variable = "OMP_WAIT_POLICY";

    /// <summary>
    /// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> for this process unless the variable is already set. It takes effect
    /// only before the first TorchSharp call loads libtorch (and its OpenMP runtime), so call it before anything
    /// touches a tensor.
    /// </summary>
    /// <returns>True when the passive policy will apply: set now, or already set to PASSIVE by the caller's environment.</returns>
    public static bool PreferPassive()
    {
        string? current = Environment.GetEnvironmentVariable(Variable);
        if (current is not null) return string.Equals(current, "PASSIVE", StringComparison.OrdinalIgnoreCase);
        if (!OperatingSystem.IsLinux() || OpenMpAlreadyLoaded()) return false;
        // Environment.SetEnvironmentVariable changes only .NET's copy of the environment; libgomp reads the C one.
        if (SetEnvironment(Variable, "PASSIVE", 0) != 0) return false;
        Environment.SetEnvironmentVariable(Variable, "PASSIVE");
        return true;
    }

    private static bool OpenMpAlreadyLoaded()
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Any(line => line.Contains("libgomp", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, SetLastError = true)]
    private static extern int SetEnvironment(string name, string value, int overwrite);
}
