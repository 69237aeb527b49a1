using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>
/// Ranks simulated by threads of one process: each rank's <see cref="IPinnedSum"/> waits for the others, rank 0 adds the
/// arrays in rank order (a plain loop, independent of the communicator's code), and every rank gets the sums. Lets the
/// gradient reduction's buckets and layout be tested without MPI.
/// </summary>
internal sealed class ThreadRanks
{
    private readonly Barrier barrier;
    private readonly Array?[] deposited;
    private readonly List<string> operations = [];

    public ThreadRanks(int size)
    {
        barrier = new Barrier(size);
        deposited = new Array?[size];
        Ranks = Enumerable.Range(0, size).Select(r => new Rank(this, r)).ToArray();
    }

    public IReadOnlyList<IPinnedSum> Ranks { get; }

    /// <summary>What rank 0 was asked to sum, in order.</summary>
    public IReadOnlyList<string> Operations => operations;

    /// <summary>Runs <paramref name="work"/>(rank) on one thread per rank and returns when all are done.</summary>
    public void Run(Action<int> work)
    {
        var threads = new Thread[Ranks.Count];
        var failures = new Exception?[threads.Length];
        for (int r = 0; r < threads.Length; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try { work(rank); }
                catch (Exception e) { failures[rank] = e; barrier.RemoveParticipant(); }
            });
            threads[r].Start();
        }

        foreach (var thread in threads) thread.Join();
        if (failures.FirstOrDefault(f => f is not null) is { } failure) throw new AggregateException(failure);
    }

    private void Sum<T>(int rank, T[] pinned, int count, string operation) where T : struct, System.Numerics.IAdditionOperators<T, T, T>
    {
        deposited[rank] = pinned;
        barrier.SignalAndWait();
        if (rank == 0)
        {
            operations.Add(operation);
            var total = new T[count];
            Array.Copy((T[])deposited[0]!, total, count);
            for (int r = 1; r < deposited.Length; r++)
            {
                var term = (T[])deposited[r]!;
                for (int i = 0; i < count; i++) total[i] += term[i];
            }

            deposited[0] = total;
        }

        barrier.SignalAndWait();
        var sums = (T[])deposited[0]!;
        barrier.SignalAndWait();
        Array.Copy(sums, pinned, count);
        barrier.SignalAndWait();
    }

    private sealed class Rank(ThreadRanks ranks, int rank) : IPinnedSum
    {
        public void Sum(float[] pinned, int count, string operation) => ranks.Sum(rank, pinned, count, operation);

        public void Sum(double[] pinned, int count, string operation) => ranks.Sum(rank, pinned, count, operation);
    }
}
