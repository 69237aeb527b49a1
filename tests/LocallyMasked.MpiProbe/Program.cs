// Runs scenarios of the MPI binding on every rank of an mpiexec job and prints one line per result, "<rank> <scenario>
// <result...>", for the distributed tests (tests/LocallyMasked.Training.Tests/Distributed) to compare with their own
// computations. Errors are one line on standard error; a timeout or an MPI error aborts the job with exit code 4.
//
// Usage: mpiexec -n N dotnet LocallyMasked.MpiProbe.dll [--timeout-ms MS] [--threads N (libtorch's, default 1)] scenario...
//   scenarios: constants info allreduce broadcast barrier allgather gradients settings settings-differ stall exit-early
//              after-dispose timing[=COUNT,COUNT,...] (rank 0 prints the allreduce's time per size); "parameters" needs no MPI;
//              train train-stop roll-call roll-call-lost (TrainingScenarios.cs).
using System.Globalization;
using LocallyMasked.MpiProbe;
using LocallyMasked.Training.Distributed;

TimeSpan? timeout = null;
int threads = 1;
var chosen = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--timeout-ms") timeout = TimeSpan.FromMilliseconds(int.Parse(args[++i], CultureInfo.InvariantCulture));
    else if (args[i] == "--threads") threads = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else chosen.Add(args[i]);
}

LocallyMasked.Training.Runtime.OpenMpWaitPolicy.PreferPassive();
TorchSharp.torch.set_num_threads(threads);

if (chosen.Count == 1 && chosen[0] == "parameters")
{
    ParameterCounts.Print();
    return 0;
}

MpiCommunicator communicator;
try
{
    communicator = MpiCommunicator.Initialize(MpiLaunch.FromEnvironment(), timeout);
}
catch (Exception e) when (e is MpiUnavailableException or InvalidOperationException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

var scenarios = new Scenarios(communicator);
var training = new TrainingScenarios(communicator);
try
{
    foreach (var name in chosen)
    {
        if (!scenarios.Run(name) && !training.Run(name))
        {
            Console.Error.WriteLine($"unknown scenario '{name}'");
            communicator.Abort(2);
        }
    }
}
catch (SettingsMismatchException e)
{
    // Every rank raises it: each ends cleanly, with the exit code of bad input.
    Console.Error.WriteLine($"error: {e.Message}");
    communicator.Dispose();
    return 1;
}
catch (MpiException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    communicator.Abort(4);
}

if (!scenarios.Disposed) communicator.Dispose();
return 0;
