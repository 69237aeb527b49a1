using LocallyMasked.Numerics;
using LocallyMasked.Training;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests.DataParallel;

/// <summary>
/// A data-parallel group whose processes are threads of this process: each member deposits its values, waits for the
/// others, and computes the sums itself with plain libtorch additions in member order (independent of the MPI group's
/// code). Lets trainers of several "processes" run side by side in one test.
/// </summary>
internal sealed class ThreadGroup
{
    private readonly Barrier barrier;
    private readonly object?[] deposited;

    public ThreadGroup(int size)
    {
        barrier = new Barrier(size);
        deposited = new object?[size];
        Members = Enumerable.Range(0, size).Select(i => new Member(this, i)).ToArray();
    }

    public IReadOnlyList<IDataParallelGroup> Members { get; }

    /// <summary>
    /// Runs <paramref name="work"/>(index) on one thread per member, each with one libtorch thread (as a rank of an MPI job
    /// with one thread, and as each worker of a one-process trainer with one thread per worker), and returns the results.
    /// </summary>
    public T[] Run<T>(Func<int, T> work)
    {
        var results = new T[Members.Count];
        var failures = new Exception?[Members.Count];
        var threads = Enumerable.Range(0, Members.Count).Select(i => new Thread(() =>
        {
            try
            {
                TorchSharp.torch.get_num_threads();
                TorchSharp.torch.set_num_threads(1);
                results[i] = work(i);
            }
            catch (Exception e)
            {
                failures[i] = e;
                barrier.RemoveParticipant();
            }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        if (failures.All(f => f is not null)) throw new AggregateException(failures!);
        if (failures.FirstOrDefault(f => f is not null) is { } failure) throw new AggregateException(failure);
        return results;
    }

    /// <summary>Runs <paramref name="use"/> on every member's deposit once all have deposited; the deposits stay alive until every member is done.</summary>
    private void Exchange<T>(int index, T mine, Action<T[]> use)
    {
        deposited[index] = mine;
        barrier.SignalAndWait();
        use(deposited.Cast<T>().ToArray());
        barrier.SignalAndWait();
    }

    private static Tensor Sum(IEnumerable<Tensor> terms)
    {
        Tensor? sum = null;
        foreach (var term in terms) sum = sum is null ? term.clone() : sum.PlusInPlace(term);
        return sum!;
    }

    private sealed class Member(ThreadGroup group, int index) : IDataParallelGroup
    {
        public int Size => group.Members.Count;

        public int Index => index;

        public void SumGradients(IReadOnlyList<Tensor> parameters)
        {
            using var scope = NewDisposeScope();
            var grads = parameters.Select(p => p.grad?.detach().clone()).ToArray();
            group.Exchange(index, grads, all =>
            {
                for (int i = 0; i < parameters.Count; i++)
                {
                    if (all.All(g => g[i] is null)) continue;
                    var sum = Sum(all.Select(g => g[i] ?? zeros_like(parameters[i])));
                    if (parameters[i].grad is { } grad) grad.copy_(sum);
                    else parameters[i].grad = sum;   // the parameter keeps its own reference
                }
            });
        }

        public void SumInPlace(IReadOnlyList<Tensor> tensors)
        {
            using var scope = NewDisposeScope();
            var copies = tensors.Select(t => t.detach().clone()).ToArray();
            group.Exchange(index, copies, all =>
            {
                for (int i = 0; i < tensors.Count; i++) tensors[i].copy_(Sum(all.Select(c => c[i])));
            });
        }

        public void SumInPlace(Span<double> values)
        {
            var mine = values.ToArray();
            double[] sums = new double[mine.Length];
            group.Exchange(index, mine, all =>
            {
                for (int i = 0; i < sums.Length; i++)
                {
                    sums[i] = all[0][i];
                    for (int r = 1; r < all.Length; r++) sums[i] += all[r][i];
                }
            });
            sums.CopyTo(values);
        }

        public void BroadcastInPlace(IReadOnlyList<Tensor> tensors)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var copies = tensors.Select(t => t.detach().clone()).ToArray();
            group.Exchange(index, copies, all =>
            {
                for (int i = 0; i < tensors.Count; i++) tensors[i].copy_(all[0][i]);
            });
        }

        public bool AnyRequestsStop(bool stopRequested, long step)
        {
            bool any = false;
            group.Exchange(index, stopRequested, all => any = all.Any(flag => flag));
            return any;
        }
    }
}
