namespace LocallyMasked.Training.Distributed;

/// <summary>
/// MPI was asked for but cannot be used: the process was not started by an MPI launcher, the launcher is Open MPI's,
/// no library of the MPICH family can be loaded, or the library does not belong to the launcher. The message is one
/// line that says what to do (install MPICH, start with <c>mpiexec</c>).
/// </summary>
public sealed class MpiUnavailableException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public MpiUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with its one-line message and the failure behind it.</summary>
    public MpiUnavailableException(string message, Exception inner) : base(message, inner) { }
}
