using LocallyMasked.Training.Distributed;

namespace LocallyMasked.MpiProbe;

/// <summary>
/// Checks every constant of <c>MpiAbi</c> by calling MPI with it: datatypes by size and name, MPI_COMM_WORLD by name,
/// the null handles by what MPI writes back, MPI_SUM and MPI_MAX by what they compute, MPI_IN_PLACE and
/// MPI_STATUS_IGNORE by use, MPI_COMM_TYPE_SHARED by the ranks it groups, MPI_ERRORS_RETURN by an error that comes back
/// instead of ending the job. Prints "constants ok" or one "constants FAIL ..." line per disagreement.
/// </summary>
internal static class ConstantsCheck
{
    public static void Run(MpiCommunicator communicator, Action<string> print)
    {
        var native = communicator.Library.Native;
        var failures = new List<string>();
        void Expect(string what, object expected, object actual)
        {
            if (!Equals(expected, actual)) failures.Add($"{what}: expected {expected}, got {actual}");
        }

        string Name(MpiNative.HandleNameQuery query, int handle)
        {
            var text = new byte[MpiAbi.MaxObjectName + 1];
            int code = query(handle, text, out int length);
            return code == MpiAbi.Success ? MpiNative.Text(text, length) : $"error {code}";
        }

        foreach (var (handle, size, names) in new (int, int, string[])[]
                 {
                     (MpiAbi.Byte, 1, ["MPI_BYTE"]), (MpiAbi.Int, 4, ["MPI_INT"]), (MpiAbi.LongLong, 8, ["MPI_LONG_LONG_INT", "MPI_LONG_LONG"]),
                     (MpiAbi.Float, 4, ["MPI_FLOAT"]), (MpiAbi.Double, 8, ["MPI_DOUBLE"]),
                 })
        {
            Expect($"MPI_Type_size({names[0]})", (MpiAbi.Success, size), (native.TypeSize(handle, out int actual), actual));
            string name = Name(native.TypeGetName, handle);
            if (!names.Contains(name)) failures.Add($"MPI_Type_get_name(0x{handle:x8}): expected {names[0]}, got {name}");
        }

        Expect("MPI_Comm_get_name(MPI_COMM_WORLD)", "MPI_COMM_WORLD", Name(native.CommGetName, MpiAbi.CommWorld));

        // MPI_INFO_NULL and MPI_COMM_TYPE_SHARED: the split succeeds and groups the ranks of this machine (all of them
        // under a local mpiexec, as many as Hydra says); MPI_COMM_NULL is what MPI_Comm_free leaves behind.
        Expect("MPI_Comm_split_type(MPI_COMM_TYPE_SHARED, MPI_INFO_NULL)", MpiAbi.Success,
            native.CommSplitType(MpiAbi.CommWorld, MpiAbi.CommTypeShared, communicator.Rank, MpiAbi.InfoNull, out int local));
        native.CommSize(local, out int localSize);
        var hydraLocal = Environment.GetEnvironmentVariable("MPI_LOCALNRANKS");
        Expect("ranks sharing this machine", hydraLocal ?? communicator.Size.ToString(), localSize.ToString());
        native.CommFree(ref local);
        Expect("MPI_Comm_free's handle (MPI_COMM_NULL)", MpiAbi.CommNull, local);

        // MPI_SUM and MPI_MAX, in place, with MPI_STATUS_IGNORE; a completed request becomes MPI_REQUEST_NULL.
        int n = communicator.Size;
        foreach (var (op, name, expected) in new[] { (MpiAbi.Sum, "MPI_SUM", n * (n + 1) / 2f), (MpiAbi.Max, "MPI_MAX", (float)n) })
        {
            var buffer = GC.AllocateArray<float>(1, pinned: true);
            buffer[0] = communicator.Rank + 1;
            int code = native.Iallreduce(MpiAbi.InPlace, PinnedBuffer<float>.Address(buffer), 1, MpiAbi.Float, op, MpiAbi.CommWorld, out int request);
            int done = 0;
            while (code == MpiAbi.Success && done == 0) code = native.Test(ref request, out done, MpiAbi.StatusIgnore);
            Expect($"{name} of ranks + 1", (MpiAbi.Success, expected), (code, buffer[0]));
            Expect($"request after {name} (MPI_REQUEST_NULL)", MpiAbi.RequestNull, request);
        }

        // MPI_ERRORS_RETURN: a broadcast of an invalid datatype returns an error code, and this process goes on.
        int invalid = native.Ibcast(IntPtr.Zero, 1, 0x12345, 0, MpiAbi.CommWorld, out _);
        if (invalid == MpiAbi.Success) failures.Add("an invalid datatype was accepted: MPI_ERRORS_RETURN is not in effect or the check is wrong");

        // MPI_THREAD_SERIALIZED: what Initialize asked for.
        native.QueryThread(out int provided);
        Expect("MPI_Query_thread", (int)communicator.ThreadLevel, provided);
        if (provided < MpiAbi.ThreadSerialized) failures.Add($"thread level {provided} is below MPI_THREAD_SERIALIZED ({MpiAbi.ThreadSerialized})");

        if (failures.Count == 0) print("constants ok");
        foreach (var failure in failures) print($"constants FAIL {failure}");
    }
}
