using System.Runtime.InteropServices;

namespace LocallyMasked.Training.Distributed;

/// <summary>
/// The MPI functions this package calls, bound at run time from a loaded library (<see cref="MpiLibrary"/>) over MPICH's
/// ABI: handles are <c>int</c>s (<see cref="MpiAbi"/>), buffers and arrays are addresses of pinned memory. Binding through
/// <see cref="NativeLibrary.GetExport"/> instead of <c>DllImport</c> keeps MPI optional: nothing is resolved until a
/// program asks for MPI, and the library's file name (<c>libmpi.so.12</c>, <c>libmpich.so.12</c>, a path) is chosen then.
/// Every function returns an MPI error code (<see cref="MpiAbi.Success"/> or an error class).
/// </summary>
internal sealed class MpiNative
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int StringQuery([Out] byte[] text, out int length);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int FlagQuery(out int flag);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int InitThreadCall(IntPtr argc, IntPtr argv, int required, out int provided);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int NoArgumentCall();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommIntCall(int comm, int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommQuery(int comm, out int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommSplitTypeCall(int comm, int splitType, int key, int info, out int newComm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int CommFreeCall(ref int comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int HandleNameQuery(int handle, [Out] byte[] name, out int length);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int ErrorStringQuery(int code, [Out] byte[] text, out int length);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IbarrierCall(int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IbcastCall(IntPtr buffer, int count, int datatype, int root, int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IallgatherCall(IntPtr send, int sendCount, int sendType, IntPtr receive, int receiveCount, int receiveType, int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IallgathervCall(IntPtr send, int sendCount, int sendType, IntPtr receive, IntPtr receiveCounts, IntPtr displacements, int receiveType, int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IalltoallvCall(IntPtr send, IntPtr sendCounts, IntPtr sendDisplacements, int sendType, IntPtr receive, IntPtr receiveCounts, IntPtr receiveDisplacements, int receiveType, int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int IallreduceCall(IntPtr send, IntPtr receive, int count, int datatype, int op, int comm, out int request);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int TestCall(ref int request, out int flag, IntPtr status);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] public delegate int PointToPointCall(IntPtr buffer, int count, int datatype, int peer, int tag, int comm, out int request);

    private MpiNative(IntPtr library, string name)
    {
        T Bind<T>(string symbol) where T : Delegate =>
            NativeLibrary.TryGetExport(library, symbol, out var address)
                ? Marshal.GetDelegateForFunctionPointer<T>(address)
                : throw new MpiUnavailableException($"{name} has no function {symbol}: an MPI 3.0 library of the MPICH family is needed (install MPICH 3.1 or later).");

        GetLibraryVersion = Bind<StringQuery>("MPI_Get_library_version");
        Initialized = Bind<FlagQuery>("MPI_Initialized");
        Finalized = Bind<FlagQuery>("MPI_Finalized");
        InitThread = Bind<InitThreadCall>("MPI_Init_thread");
        QueryThread = Bind<FlagQuery>("MPI_Query_thread");
        FinalizeMpi = Bind<NoArgumentCall>("MPI_Finalize");
        Abort = Bind<CommIntCall>("MPI_Abort");
        CommRank = Bind<CommQuery>("MPI_Comm_rank");
        CommSize = Bind<CommQuery>("MPI_Comm_size");
        CommSplitType = Bind<CommSplitTypeCall>("MPI_Comm_split_type");
        CommFree = Bind<CommFreeCall>("MPI_Comm_free");
        CommSetErrhandler = Bind<CommIntCall>("MPI_Comm_set_errhandler");
        CommGetName = Bind<HandleNameQuery>("MPI_Comm_get_name");
        TypeGetName = Bind<HandleNameQuery>("MPI_Type_get_name");
        TypeSize = Bind<CommQuery>("MPI_Type_size");
        GetProcessorName = Bind<StringQuery>("MPI_Get_processor_name");
        ErrorString = Bind<ErrorStringQuery>("MPI_Error_string");
        Ibarrier = Bind<IbarrierCall>("MPI_Ibarrier");
        Ibcast = Bind<IbcastCall>("MPI_Ibcast");
        Iallgather = Bind<IallgatherCall>("MPI_Iallgather");
        Iallgatherv = Bind<IallgathervCall>("MPI_Iallgatherv");
        Ialltoallv = Bind<IalltoallvCall>("MPI_Ialltoallv");
        Iallreduce = Bind<IallreduceCall>("MPI_Iallreduce");
        Test = Bind<TestCall>("MPI_Test");
        Isend = Bind<PointToPointCall>("MPI_Isend");
        Irecv = Bind<PointToPointCall>("MPI_Irecv");
    }

    /// <summary>Binds every function from a loaded library.</summary>
    /// <exception cref="MpiUnavailableException">A function is missing (not an MPI 3.0 library).</exception>
    public static MpiNative Bind(IntPtr library, string name) => new(library, name);

    /// <summary>MPI_Get_library_version (allowed before MPI_Init).</summary>
    public StringQuery GetLibraryVersion { get; }

    /// <summary>MPI_Initialized (allowed before MPI_Init).</summary>
    public FlagQuery Initialized { get; }

    /// <summary>MPI_Finalized (allowed before MPI_Init).</summary>
    public FlagQuery Finalized { get; }

    /// <summary>MPI_Init_thread, given null argc and argv.</summary>
    public InitThreadCall InitThread { get; }

    /// <summary>MPI_Query_thread.</summary>
    public FlagQuery QueryThread { get; }

    /// <summary>MPI_Finalize.</summary>
    public NoArgumentCall FinalizeMpi { get; }

    /// <summary>MPI_Abort(comm, errorcode).</summary>
    public CommIntCall Abort { get; }

    /// <summary>MPI_Comm_rank.</summary>
    public CommQuery CommRank { get; }

    /// <summary>MPI_Comm_size.</summary>
    public CommQuery CommSize { get; }

    /// <summary>MPI_Comm_split_type(comm, split_type, key, info, newcomm).</summary>
    public CommSplitTypeCall CommSplitType { get; }

    /// <summary>MPI_Comm_free.</summary>
    public CommFreeCall CommFree { get; }

    /// <summary>MPI_Comm_set_errhandler(comm, errhandler).</summary>
    public CommIntCall CommSetErrhandler { get; }

    /// <summary>MPI_Comm_get_name (the probe checks the handles by their names).</summary>
    public HandleNameQuery CommGetName { get; }

    /// <summary>MPI_Type_get_name.</summary>
    public HandleNameQuery TypeGetName { get; }

    /// <summary>MPI_Type_size(datatype, size).</summary>
    public CommQuery TypeSize { get; }

    /// <summary>MPI_Get_processor_name.</summary>
    public StringQuery GetProcessorName { get; }

    /// <summary>MPI_Error_string.</summary>
    public ErrorStringQuery ErrorString { get; }

    /// <summary>MPI_Ibarrier.</summary>
    public IbarrierCall Ibarrier { get; }

    /// <summary>MPI_Ibcast.</summary>
    public IbcastCall Ibcast { get; }

    /// <summary>MPI_Iallgather.</summary>
    public IallgatherCall Iallgather { get; }

    /// <summary>MPI_Iallgatherv.</summary>
    public IallgathervCall Iallgatherv { get; }

    /// <summary>MPI_Ialltoallv.</summary>
    public IalltoallvCall Ialltoallv { get; }

    /// <summary>MPI_Iallreduce (MPICH's own reduction, whose summation order is its own: compared with, not used).</summary>
    public IallreduceCall Iallreduce { get; }

    /// <summary>MPI_Test(request, flag, status); <see cref="MpiAbi.StatusIgnore"/> for the status.</summary>
    public TestCall Test { get; }

    /// <summary>MPI_Isend(buffer, count, datatype, destination, tag, comm, request).</summary>
    public PointToPointCall Isend { get; }

    /// <summary>MPI_Irecv(buffer, count, datatype, source, tag, comm, request).</summary>
    public PointToPointCall Irecv { get; }

    /// <summary>The text of a string-returning query (version, processor name), trimmed.</summary>
    public static string Text(byte[] buffer, int length) =>
        System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).TrimEnd('\0', '\n', ' ');

    /// <summary>MPI_Error_string's text for an error code.</summary>
    public string Describe(int code)
    {
        var text = new byte[MpiAbi.MaxErrorString];
        return ErrorString(code, text, out int length) == MpiAbi.Success ? Text(text, length) : $"MPI error {code}";
    }
}
