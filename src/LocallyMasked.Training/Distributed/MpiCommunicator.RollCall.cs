using System.Diagnostics;

namespace LocallyMasked.Training.Distributed;

public sealed partial class MpiCommunicator
{
    // The tag of the roll call's messages (MPI guarantees tags up to 32,767).
    private const int RollCallTag = 25;

    private readonly PinnedBuffer<int> rollCallValues = new();
    private readonly PinnedBuffer<int> rollCallOwn = new();

    /// <summary>
    /// Every rank's value on every rank, collected by rank 0 one message per rank (MPI_Isend, MPI_Irecv) and then broadcast
    /// (MPI_Ibcast). Unlike a collective, which either completes or does not, this lets rank 0 see which ranks reported:
    /// when some do not within <paramref name="timeout"/>, its exception names them. The other ranks wait twice as long for
    /// rank 0's answer, so that rank 0, which knows who is missing, is the one that reports (unless rank 0 itself is lost).
    /// A trainer calls it once per step: a request to stop and a sign of life in one exchange.
    /// </summary>
    /// <param name="value">This rank's value.</param>
    /// <param name="occasion">Where the ranks are, for the message: "the end of step 12".</param>
    /// <param name="timeout">How long rank 0 waits for the reports (default <see cref="Timeout"/>); the others wait twice as long for the answer.</param>
    /// <returns>An array of <see cref="Size"/> values; element r is rank r's.</returns>
    /// <exception cref="MpiRankLostException">Some rank was not heard from in time (named).</exception>
    /// <exception cref="MpiTimeoutException">The answer's broadcast did not complete in time.</exception>
    public int[] RollCall(int value, string occasion, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(occasion);
        lock (gate)
        {
            ThrowIfUnusable();
            var wait = TimeoutOf(timeout);
            if (Size == 1) return [value];
            var values = rollCallValues.Ensure(Size);
            values[Rank] = value;
            // Rank 0: one receive per rank (its own entry stays null); the others: the send and the answer.
            var requests = new int[IsRoot ? Size : 2];
            Array.Fill(requests, MpiAbi.RequestNull);
            if (IsRoot)
            {
                for (int r = 1; r < Size; r++)
                    Started(native.Irecv(PinnedBuffer<int>.Address(values, r), 1, MpiAbi.Int, r, RollCallTag, MpiAbi.CommWorld, out requests[r]), "roll call (receive)", values);
                if (Pending(requests, wait, "roll call", values) is { Length: > 0 } lost)
                {
                    Abandon($"roll call at {occasion}: no report from {string.Join(", ", lost)}", [values]);
                    throw new MpiRankLostException(occasion, lost, wait, Rank, Size);
                }

                Run($"roll call at {occasion} (answer)", wait, () => (native.Ibcast(PinnedBuffer<int>.Address(values), Size, MpiAbi.Int, 0, MpiAbi.CommWorld, out int request), request), values);
            }
            else
            {
                var own = rollCallOwn.Ensure(1);
                own[0] = value;
                Started(native.Isend(PinnedBuffer<int>.Address(own), 1, MpiAbi.Int, 0, RollCallTag, MpiAbi.CommWorld, out requests[0]), "roll call (send)", own);
                Started(native.Ibcast(PinnedBuffer<int>.Address(values), Size, MpiAbi.Int, 0, MpiAbi.CommWorld, out requests[1]), "roll call (answer)", own, values);
                if (Pending(requests, 2 * wait, "roll call", own, values).Length > 0)
                {
                    Abandon($"roll call at {occasion}: no answer from rank 0", [own, values]);
                    throw new MpiRankLostException(occasion, [0], 2 * wait, Rank, Size);
                }
            }

            return values.AsSpan(0, Size).ToArray();
        }
    }

    /// <summary>Raises an MPI error of a call that starts a request (under the lock).</summary>
    private void Started(int code, string operation, params Array[] inFlight)
    {
        if (code != MpiAbi.Success) throw Failed(operation, "start", code, inFlight);
    }

    /// <summary>
    /// Polls requests (<see cref="MpiAbi.RequestNull"/> counts as complete) until all complete or <paramref name="timeout"/>
    /// passes; returns the indices of those still pending (none when all completed). Under the lock.
    /// </summary>
    private int[] Pending(int[] requests, TimeSpan timeout, string operation, params Array[] inFlight)
    {
        long began = Stopwatch.GetTimestamp();
        var done = new bool[requests.Length];
        while (true)
        {
            bool all = true;
            for (int i = 0; i < requests.Length; i++)
            {
                if (done[i]) continue;
                int code = native.Test(ref requests[i], out int flag, MpiAbi.StatusIgnore);
                if (code != MpiAbi.Success) throw Failed(operation, "MPI_Test", code, inFlight);
                done[i] = flag != 0;
                all &= done[i];
            }

            if (all) return [];
            var elapsed = Stopwatch.GetElapsedTime(began);
            if (elapsed > timeout) return Enumerable.Range(0, requests.Length).Where(i => !done[i]).ToArray();
            if (elapsed < BusyPolling) Thread.Yield();
            else Thread.Sleep(1);
        }
    }
}
