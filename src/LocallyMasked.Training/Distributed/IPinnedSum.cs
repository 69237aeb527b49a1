namespace LocallyMasked.Training.Distributed;

/// <summary>
/// An element-wise sum over all ranks, in rank order, of arrays on the pinned object heap, written into the arrays on
/// every rank: what <see cref="GradientAllreduce"/> needs of a communicator (tests give it a stand-in without MPI).
/// </summary>
internal interface IPinnedSum
{
    /// <summary>Sums the first <paramref name="count"/> elements of a pinned array over the ranks.</summary>
    /// <param name="pinned">An array allocated on the pinned object heap (<see cref="PinnedBuffer{T}"/>).</param>
    /// <param name="count">Elements to sum, the same on every rank.</param>
    /// <param name="operation">What this sum is, for a timeout's message.</param>
    void Sum(float[] pinned, int count, string operation);

    /// <inheritdoc cref="Sum(float[], int, string)"/>
    void Sum(double[] pinned, int count, string operation);
}
