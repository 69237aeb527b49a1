using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// A bucket of <see cref="GradientAllreduce"/>: an array of float32 or float64 on the pinned object heap, and a 1-D CPU
/// tensor over the same memory (<c>torch.from_array</c> shares it), so that libtorch copies tensors in and out while MPI
/// reads and writes the array.
/// </summary>
internal sealed class PinnedBucket : IDisposable
{
    private readonly float[]? floats;
    private readonly double[]? doubles;

    public PinnedBucket(ScalarType dtype, int elements)
    {
        if (dtype == ScalarType.Float32) floats = GC.AllocateArray<float>(elements, pinned: true);
        else if (dtype == ScalarType.Float64) doubles = GC.AllocateArray<double>(elements, pinned: true);
        else throw new ArgumentException($"Expected float32 or float64, not {dtype}.", nameof(dtype));
        // The reduction that first needs a bucket runs inside a dispose scope: the bucket outlives it.
        Tensor = torch.from_array(floats is not null ? floats : doubles!).DetachFromDisposeScope();
    }

    /// <summary>The bucket's memory as a 1-D CPU tensor.</summary>
    public Tensor Tensor { get; }

    /// <summary>Sets element <paramref name="index"/>.</summary>
    public void Set(int index, double value)
    {
        if (floats is not null) floats[index] = (float)value;
        else doubles![index] = value;
    }

    /// <summary>Element <paramref name="index"/>.</summary>
    public double Get(int index) => floats is not null ? floats[index] : doubles![index];

    /// <summary>Zeros elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>).</summary>
    public void Clear(int start, int length)
    {
        if (floats is not null) Array.Clear(floats, start, length);
        else Array.Clear(doubles!, start, length);
    }

    /// <summary>Sums the first <paramref name="count"/> elements over the ranks.</summary>
    public void SumOver(IPinnedSum sum, int count, string operation)
    {
        if (floats is not null) sum.Sum(floats, count, operation);
        else sum.Sum(doubles!, count, operation);
    }

    public void Dispose() => Tensor.Dispose();
}
