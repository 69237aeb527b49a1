namespace LocallyMasked.Training.Distributed;

/// <summary>
/// What an MPI library allows of a process's threads (MPI_THREAD_SINGLE to MPI_THREAD_MULTIPLE, whose values these
/// are). <see cref="MpiCommunicator"/> asks for <see cref="Serialized"/>: .NET code may continue on another thread
/// after an <c>await</c> or run on the thread pool, so the thread that calls MPI is not always the one that
/// initialized it; the communicator's lock makes the calls one at a time.
/// </summary>
public enum MpiThreadLevel
{
    /// <summary>One thread in the process.</summary>
    Single = 0,

    /// <summary>Several threads, only the one that initialized MPI calls it.</summary>
    Funneled = 1,

    /// <summary>Several threads, any may call MPI, one at a time.</summary>
    Serialized = 2,

    /// <summary>Several threads calling MPI at the same time.</summary>
    Multiple = 3,
}
