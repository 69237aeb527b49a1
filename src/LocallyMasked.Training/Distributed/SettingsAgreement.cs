using System.Security.Cryptography;
using System.Text;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// Refuses to go on when the ranks of a job were started with different settings: rank 0 broadcasts a hash (SHA-256)
/// of its settings, every rank compares it with the hash of its own, and the verdicts are gathered so that every rank
/// stops with the same message. A job whose ranks train different models, or the same model on different data, would
/// otherwise average gradients that do not belong together.
/// </summary>
public static class SettingsAgreement
{
    /// <summary>The SHA-256 hash of a settings text, as UTF-8.</summary>
    public static byte[] Hash(string settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return SHA256.HashData(Encoding.UTF8.GetBytes(settings));
    }

    /// <summary>
    /// Returns when every rank's <paramref name="settings"/> equal rank 0's; otherwise every rank throws the same
    /// <see cref="SettingsMismatchException"/>. A collective: every rank calls it at the same point.
    /// </summary>
    /// <param name="communicator">The job's ranks.</param>
    /// <param name="settings">
    /// What must agree, written the same way on every rank: for a program, its parsed options in a fixed order, without
    /// what may differ per rank (paths to local copies, the number of threads).
    /// </param>
    /// <param name="timeout">How long each exchange waits (default: the communicator's).</param>
    /// <exception cref="SettingsMismatchException">Some rank's settings differ from rank 0's.</exception>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public static void Require(MpiCommunicator communicator, string settings, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var own = Hash(settings);
        var rankZeros = (byte[])own.Clone();
        communicator.Broadcast(rankZeros.AsSpan(), timeout);
        var agree = communicator.Allgather(own.AsSpan().SequenceEqual(rankZeros) ? 1 : 0, timeout);
        var differing = Enumerable.Range(0, agree.Length).Where(r => agree[r] == 0).ToArray();
        if (differing.Length > 0) throw new SettingsMismatchException(differing);
    }
}
