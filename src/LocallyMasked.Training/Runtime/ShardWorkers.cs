using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace LocallyMasked.Training.Runtime;

/// <summary>
/// Dedicated threads that each compute one shard of a batch at the same time, every thread with its own libtorch
/// intra-op thread count. Small convolutional networks on a few CPU cores are bound by the cost of issuing
/// operations, not by arithmetic: one thread per shard with one intra-op thread each keeps every core busy where
/// two intra-op threads per operation do not (docs/benchmarks.md, "Training step: shards on threads").
/// </summary>
internal sealed class ShardWorkers : IDisposable
{
    [ThreadStatic]
    private static bool onWorker;

    private readonly BlockingCollection<Action>[] queues;
    private readonly Thread[] threads;
    private bool disposed;

    /// <summary>Starts <paramref name="count"/> threads that each run libtorch with <paramref name="threadsEach"/>
    /// intra-op threads; the caller's own thread count is left as it was.</summary>
    public ShardWorkers(int count, int threadsEach)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Expected at least one worker.");
        if (threadsEach < 1) throw new ArgumentOutOfRangeException(nameof(threadsEach), threadsEach, "Expected at least one thread per worker.");
        // torch.set_num_threads also records the count that threads starting later inherit: put the caller's back.
        var callerThreads = TorchSharp.torch.get_num_threads();
        queues = Enumerable.Range(0, count).Select(_ => new BlockingCollection<Action>()).ToArray();
        using var ready = new CountdownEvent(count);
        threads = queues.Select((queue, i) => new Thread(() =>
        {
            onWorker = true;
            // libtorch gives a thread the process-wide count at its first parallel operation (a lazy per-thread
            // initialisation, which get_num_threads triggers): done first, so that the count set next is the one kept.
            TorchSharp.torch.get_num_threads();
            TorchSharp.torch.set_num_threads(threadsEach);
            ready.Signal();
            foreach (var work in queue.GetConsumingEnumerable()) work();
        })
        { IsBackground = true, Name = $"LocallyMasked shard {i}" }).ToArray();
        foreach (var thread in threads) thread.Start();
        ready.Wait();
        TorchSharp.torch.set_num_threads(callerThreads);
    }

    /// <summary>Number of workers.</summary>
    public int Count => threads.Length;

    /// <summary>
    /// Runs <paramref name="work"/>(i) on worker i for every worker at once and returns the results in worker order.
    /// The first failure (by worker index) is rethrown after all have finished, once <paramref name="discard"/> has been
    /// given the results of the workers that succeeded (to free what they hold).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The workers were stopped.</exception>
    /// <exception cref="InvalidOperationException">Called from a worker (it would wait for itself).</exception>
    public T[] Run<T>(Func<int, T> work, Action<T>? discard = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (onWorker) throw new InvalidOperationException("Shard work cannot start shard work of its own: the worker would wait for itself.");
        var results = new T[Count];
        var failures = new ExceptionDispatchInfo?[Count];
        using (var done = new CountdownEvent(Count))
        {
            for (int i = 0; i < Count; i++)
            {
                int index = i;
                queues[i].Add(() =>
                {
                    try { results[index] = work(index); }
                    catch (Exception e) { failures[index] = ExceptionDispatchInfo.Capture(e); }
                    finally { done.Signal(); }
                });
            }

            done.Wait();
        }

        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            if (discard is not null)
                for (int i = 0; i < Count; i++)
                    if (failures[i] is null) discard(results[i]);
            failure.Throw();
        }

        return results;
    }

    /// <summary>Shard s of <paramref name="count"/> contiguous shards of a batch, their sizes differing by at most one.</summary>
    public static (int Start, int Length) ShardRange(int batch, int count, int s)
    {
        int start = batch * s / count;
        return (start, batch * (s + 1) / count - start);
    }

    /// <summary>Stops the threads after their current work (a second call does nothing).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var queue in queues) queue.CompleteAdding();
        foreach (var thread in threads) thread.Join();
        foreach (var queue in queues) queue.Dispose();
    }
}
