namespace LocallyMasked.Training.Distributed;

/// <summary>
/// An MPI call returned an error (the communicator sets MPI_ERRORS_RETURN, so errors come back instead of ending the
/// job). The message names the call and gives MPI_Error_string's text. After such an error MPI's state is unknown:
/// the communicator refuses further collectives, and the program should call <see cref="MpiCommunicator.Abort"/>.
/// </summary>
public class MpiException : Exception
{
    /// <summary>Creates the exception for a failed call.</summary>
    /// <param name="message">One line naming the call and what MPI said.</param>
    /// <param name="errorCode">The MPI error code (0 when there is none, as for a timeout).</param>
    public MpiException(string message, int errorCode) : base(message) => ErrorCode = errorCode;

    /// <summary>The code MPI returned (0 for a timeout, which is not an MPI error).</summary>
    public int ErrorCode { get; }
}
