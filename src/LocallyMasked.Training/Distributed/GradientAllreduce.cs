using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// Sums tensors over the ranks of a communicator, in place: the gradients of data-parallel training, in parameter order
/// and in fixed-size buckets. Every rank passes the same list (the same shapes in the same order); each tensor becomes
/// the sum over the ranks added in rank order (<see cref="MpiCommunicator.AllreduceSum(Span{float}, TimeSpan?)"/>), so
/// the result is bitwise what one process gets by adding the ranks' tensors one after the other, as the trainer adds its
/// shards' gradients. For the mean gradient of a global batch, each rank scales its loss by 1 / global batch size before
/// its backward pass, as the trainer's shards do.
/// </summary>
/// <remarks>
/// The tensors' elements, taken in list order, are copied bucket by bucket into a pinned host array of
/// <see cref="BucketElements"/> elements (one per data type), summed there, and copied back. On a GPU each bucket
/// crosses to the host once: its pieces are concatenated on the device, copied with one transfer, summed, and copied back
/// with one transfer before being split on the device (MPI here works on host memory; a CUDA-aware MPI could reduce
/// device memory directly, which the MPICH ABI does not promise). float32 and float64 are supported; all tensors must
/// share one data type and one device. Each bucket's allreduce waits the communicator's <see cref="MpiCommunicator.Timeout"/>.
/// </remarks>
public sealed class GradientAllreduce : IDisposable
{
    /// <summary>Elements per bucket unless told otherwise: 2^20 (4 MiB of float32).</summary>
    public const int DefaultBucketElements = 1 << 20;

    private readonly IPinnedSum sum;
    private readonly Dictionary<ScalarType, PinnedBucket> buckets = [];
    private bool disposed;

    /// <summary>Creates the reduction over a communicator's ranks.</summary>
    /// <param name="communicator">The ranks to sum over.</param>
    /// <param name="bucketElements">Elements per bucket: the size of the pinned host buffer and of each allreduce.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bucketElements"/> is below 1.</exception>
    public GradientAllreduce(MpiCommunicator communicator, int bucketElements = DefaultBucketElements)
        : this((IPinnedSum)(communicator ?? throw new ArgumentNullException(nameof(communicator))), bucketElements)
    {
    }

    /// <summary>Creates the reduction over any sum of pinned arrays (tests use a stand-in without MPI).</summary>
    internal GradientAllreduce(IPinnedSum sum, int bucketElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        this.sum = sum;
        BucketElements = bucketElements;
    }

    /// <summary>Elements per bucket.</summary>
    public int BucketElements { get; }

    /// <summary>
    /// Replaces each parameter's gradient (<c>grad</c>) with its sum over the ranks. A parameter without a gradient on
    /// some ranks counts as zeros there and gets the sum as a new gradient; one without a gradient on every rank keeps
    /// none (whether each rank has one travels in the first bucket).
    /// </summary>
    /// <param name="parameters">The parameters, in the same order on every rank (for example the trainable ones).</param>
    /// <exception cref="ArgumentException">A parameter is null, not float32 or float64, or differs in data type or device from the first, or its gradient from it.</exception>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public void SumGradients(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ObjectDisposedException.ThrowIf(disposed, this);
        var (dtype, device) = Validate(parameters, nameof(parameters));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var entries = new Entry[parameters.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            var grad = parameters[i].grad;
            if (grad is not null && (grad.dtype != dtype || grad.device.type != device.type || grad.device.index != device.index || !grad.shape.SequenceEqual(parameters[i].shape)))
                throw new ArgumentException($"The gradient of parameter {i} is {grad.dtype} on {grad.device} with shape [{string.Join(", ", grad.shape)}]: expected the parameter's own ({dtype} on {device}, shape [{string.Join(", ", parameters[i].shape)}]).", nameof(parameters));
            entries[i] = new Entry(parameters[i], grad);
        }

        Reduce(entries, dtype, device, withFlags: true);
        foreach (var entry in entries)
            if (entry.Source is null && entry.Created is { } created) entry.Parameter.grad = created;
    }

    /// <summary>Replaces each tensor with its sum over the ranks.</summary>
    /// <param name="tensors">The tensors, the same shapes in the same order on every rank.</param>
    /// <exception cref="ArgumentException">A tensor is null, not float32 or float64, or differs in data type or device from the first.</exception>
    /// <exception cref="MpiTimeoutException">A rank did not take part in time.</exception>
    public void SumInPlace(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ObjectDisposedException.ThrowIf(disposed, this);
        var (dtype, device) = Validate(tensors, nameof(tensors));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Reduce(tensors.Select(t => new Entry(t, t)).ToArray(), dtype, device, withFlags: false);
    }

    /// <summary>Frees the pinned buckets.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var bucket in buckets.Values) bucket.Dispose();
        buckets.Clear();
    }

    /// <summary>
    /// The reduction. Layout of the summed sequence: with flags, one element per entry (1 where the rank has the tensor),
    /// then every entry's elements in order (zeros where a rank has none), cut into buckets of <see cref="BucketElements"/>.
    /// </summary>
    private void Reduce(Entry[] entries, ScalarType dtype, Device device, bool withFlags)
    {
        long prefix = withFlags ? entries.Length : 0;
        long total = prefix + entries.Sum(e => e.Count);
        if (total == 0) return;
        var bucket = BucketFor(dtype);
        bool onCpu = device.type == DeviceType.CPU;
        long buckets = (total + BucketElements - 1) / BucketElements;
        var pieces = new List<Piece>();
        for (long b = 0; b < buckets; b++)
        {
            long first = b * BucketElements;
            int length = (int)Math.Min(BucketElements, total - first);

            for (long k = first; k < Math.Min(prefix, first + length); k++)
                bucket.Set((int)(k - first), entries[k].Source is null ? 0 : 1);
            pieces.Clear();
            long position = prefix;
            foreach (var entry in entries)
            {
                long from = Math.Max(position, first), to = Math.Min(position + entry.Count, first + length);
                if (from < to) pieces.Add(new Piece(entry, from - position, (int)(to - from), (int)(from - first)));
                position += entry.Count;
            }

            CopyIn(bucket, pieces, onCpu);
            bucket.SumOver(sum, length, string.Create(CultureInfo.InvariantCulture,
                $"allreduce of gradients, bucket {b + 1} of {buckets} ({length:N0} {(dtype == ScalarType.Float64 ? "doubles" : "floats")})"));
            for (long k = first; k < Math.Min(prefix, first + length); k++)
                entries[k].Anywhere = bucket.Get((int)(k - first)) > 0;
            CopyOut(bucket, pieces, onCpu, device);
        }

        foreach (var entry in entries) entry.WriteBack();
    }

    private static void CopyIn(PinnedBucket bucket, List<Piece> pieces, bool onCpu)
    {
        if (pieces.Count == 0) return;
        if (onCpu)
        {
            foreach (var piece in pieces)
                if (piece.Entry.Flat is { } flat) bucket.Tensor.narrow(0, piece.At, piece.Count).copy_(flat.narrow(0, piece.Offset, piece.Count));
                else bucket.Clear(piece.At, piece.Count);
            return;
        }

        // One device-to-host transfer per bucket: the pieces (zeros for missing gradients) concatenated on the device.
        var parts = pieces.Select(p => p.Entry.Flat?.narrow(0, p.Offset, p.Count) ?? zeros(p.Count, p.Entry.Parameter.dtype, p.Entry.Parameter.device)).ToArray();
        bucket.Tensor.narrow(0, pieces[0].At, pieces.Sum(p => p.Count)).copy_(parts.Length == 1 ? parts[0] : cat(parts));
    }

    private static void CopyOut(PinnedBucket bucket, List<Piece> pieces, bool onCpu, Device device)
    {
        if (pieces.Count == 0) return;
        if (onCpu)
        {
            foreach (var piece in pieces)
                if (piece.Entry.Target() is { } target) target.narrow(0, piece.Offset, piece.Count).copy_(bucket.Tensor.narrow(0, piece.At, piece.Count));
            return;
        }

        // One host-to-device transfer per bucket, then copies on the device.
        var summed = bucket.Tensor.narrow(0, pieces[0].At, pieces.Sum(p => p.Count)).to(device);
        foreach (var piece in pieces)
            if (piece.Entry.Target() is { } target) target.narrow(0, piece.Offset, piece.Count).copy_(summed.narrow(0, piece.At - pieces[0].At, piece.Count));
    }

    private PinnedBucket BucketFor(ScalarType dtype)
    {
        if (!buckets.TryGetValue(dtype, out var bucket)) buckets[dtype] = bucket = new PinnedBucket(dtype, BucketElements);
        return bucket;
    }

    private static (ScalarType, Device) Validate(IReadOnlyList<Tensor> tensors, string parameter)
    {
        if (tensors.Count == 0) return (ScalarType.Float32, CPU);
        var first = tensors[0] ?? throw new ArgumentException("Element 0 is null: expected a tensor.", parameter);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentException($"Element {i} is null: expected a tensor.", parameter);
            if (t.dtype != ScalarType.Float32 && t.dtype != ScalarType.Float64)
                throw new ArgumentException($"Element {i} is {t.dtype}: expected float32 or float64 (other types would be summed in another precision than one process sums them).", parameter);
            if (t.dtype != first.dtype || t.device.type != first.device.type || t.device.index != first.device.index)
                throw new ArgumentException($"Element {i} is {t.dtype} on {t.device}, element 0 {first.dtype} on {first.device}: expected one data type and one device.", parameter);
        }

        return (first.dtype, first.device);
    }

    /// <summary>A run of <see cref="Count"/> elements of an entry, from element <see cref="Offset"/>, at index <see cref="At"/> of the bucket.</summary>
    private readonly record struct Piece(Entry Entry, long Offset, int Count, int At);

    /// <summary>One tensor of the list: where its elements come from and where the sums go.</summary>
    private sealed class Entry
    {
        private readonly Tensor? writeBack;
        private Tensor? flatTarget;

        /// <param name="parameter">The parameter (or the tensor itself).</param>
        /// <param name="source">The tensor to sum on this rank, null where this rank has none.</param>
        public Entry(Tensor parameter, Tensor? source)
        {
            Parameter = parameter;
            Source = source;
            Count = parameter.numel();
            if (source is null) return;
            // A view where the elements are contiguous; otherwise a contiguous copy, written back at the end.
            if (source.is_contiguous()) Flat = source.view(-1);
            else
            {
                Flat = source.contiguous().view(-1);
                writeBack = source;
            }

            flatTarget = Flat;
        }

        public Tensor Parameter { get; }

        public Tensor? Source { get; }

        public Tensor? Flat { get; }

        public long Count { get; }

        /// <summary>Whether some rank has this tensor (always, without flags).</summary>
        public bool Anywhere { get; set; } = true;

        /// <summary>The tensor created for the sum where this rank had none.</summary>
        public Tensor? Created { get; private set; }

        /// <summary>Where the sums are written: the flat tensor, a new one where this rank had none, nothing where no rank has one.</summary>
        public Tensor? Target()
        {
            if (flatTarget is null && Anywhere)
            {
                Created = zeros_like(Parameter);
                flatTarget = Created.view(-1);
            }

            return flatTarget;
        }

        public void WriteBack()
        {
            if (writeBack is not null) writeBack.copy_(Flat!.view(writeBack.shape));
        }
    }
}
