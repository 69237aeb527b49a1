using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// An array on the pinned object heap, grown on demand: memory that a nonblocking MPI collective may read and write
/// until it completes, however long that takes, without being moved by the garbage collector.
/// </summary>
internal sealed class PinnedBuffer<T> where T : unmanaged
{
    private T[] array = [];

    /// <summary>The array (at least as long as the last <see cref="Ensure"/> asked).</summary>
    public T[] Array => array;

    /// <summary>Makes the array at least <paramref name="length"/> long (its contents are then unspecified).</summary>
    public T[] Ensure(int length)
    {
        if (array.Length < length) array = GC.AllocateUninitializedArray<T>(Math.Max(length, array.Length * 2), pinned: true);
        return array;
    }

    /// <summary>The address of element <paramref name="index"/> of a pinned array.</summary>
    public static IntPtr Address(T[] pinned, int index = 0) =>
        pinned.Length == 0 ? IntPtr.Zero : Marshal.UnsafeAddrOfPinnedArrayElement(pinned, index);
}
