namespace LocallyMasked.Training.Distributed;

/// <summary>
/// The handle values and constants of MPICH's application binary interface (the "MPICH ABI compatibility initiative":
/// MPICH 3.1 and later, Intel MPI 5.0 and later, MVAPICH2 2.0 and later, Cray MPICH 7.0 and later, all exporting
/// <c>libmpi.so.12</c>). Handles are C <c>int</c>s with fixed values, so they can be written down here; Open MPI's
/// handles are pointers to its own globals, which is why it cannot be driven through this binding. The values are
/// those of MPICH 4.0.2's <c>mpi.h</c>; <c>tests/LocallyMasked.MpiProbe</c> ("constants") checks each by calling MPI.
/// </summary>
internal static class MpiAbi
{
    /// <summary>MPI_SUCCESS: the return code of a call that succeeded.</summary>
    public const int Success = 0;

    /// <summary>MPI_COMM_WORLD.</summary>
    public const int CommWorld = 0x44000000;

    /// <summary>MPI_COMM_NULL (what MPI_Comm_free leaves in the handle).</summary>
    public const int CommNull = 0x04000000;

    /// <summary>MPI_REQUEST_NULL (what a completed MPI_Test leaves in the request).</summary>
    public const int RequestNull = 0x2c000000;

    /// <summary>MPI_INFO_NULL.</summary>
    public const int InfoNull = 0x1c000000;

    /// <summary>MPI_DATATYPE_NULL (the ignored send type of an in-place collective).</summary>
    public const int DatatypeNull = 0x0c000000;

    /// <summary>MPI_BYTE.</summary>
    public const int Byte = 0x4c00010d;

    /// <summary>MPI_INT (32-bit).</summary>
    public const int Int = 0x4c000405;

    /// <summary>MPI_LONG_LONG (also MPI_LONG_LONG_INT, 64-bit).</summary>
    public const int LongLong = 0x4c000809;

    /// <summary>MPI_FLOAT.</summary>
    public const int Float = 0x4c00040a;

    /// <summary>MPI_DOUBLE.</summary>
    public const int Double = 0x4c00080b;

    /// <summary>MPI_SUM (used only to compare with MPICH's own allreduce).</summary>
    public const int Sum = 0x58000003;

    /// <summary>MPI_MAX (used only by the probe, to show that <see cref="Sum"/> is a sum).</summary>
    public const int Max = 0x58000001;

    /// <summary>MPI_ERRORS_RETURN: errors come back as return codes instead of ending the job.</summary>
    public const int ErrorsReturn = 0x54000001;

    /// <summary>MPI_COMM_TYPE_SHARED: MPI_Comm_split_type's split into processes that share memory (one per machine).</summary>
    public const int CommTypeShared = 1;

    /// <summary>MPI_THREAD_SINGLE, FUNNELED, SERIALIZED, MULTIPLE are 0 to 3: see <see cref="MpiThreadLevel"/>.</summary>
    public const int ThreadSerialized = (int)MpiThreadLevel.Serialized;

    /// <summary>MPI_MAX_PROCESSOR_NAME.</summary>
    public const int MaxProcessorName = 128;

    /// <summary>MPI_MAX_LIBRARY_VERSION_STRING.</summary>
    public const int MaxLibraryVersionString = 8192;

    /// <summary>MPI_MAX_ERROR_STRING.</summary>
    public const int MaxErrorString = 512;

    /// <summary>MPI_MAX_OBJECT_NAME (the names of communicators and datatypes).</summary>
    public const int MaxObjectName = 128;

    /// <summary>MPI_IN_PLACE: <c>(void *) -1</c>.</summary>
    public static readonly IntPtr InPlace = new(-1);

    /// <summary>MPI_STATUS_IGNORE: <c>(MPI_Status *) 1</c>.</summary>
    public static readonly IntPtr StatusIgnore = new(1);
}
