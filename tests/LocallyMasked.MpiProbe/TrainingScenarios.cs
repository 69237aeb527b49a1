using System.Globalization;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.MpiProbe;

/// <summary>The probe's scenarios of data-parallel training and of the roll call; each prints "&lt;rank&gt; &lt;scenario&gt; ..." lines.</summary>
internal sealed class TrainingScenarios(MpiCommunicator communicator)
{
    private int Rank => communicator.Rank;

    public bool Run(string name)
    {
        switch (name)
        {
            case "train": Train(); break;
            case "train-stop": TrainAndStop(); break;
            case "roll-call": RollCall(); break;
            case "roll-call-lost": RollCallLost(); break;
            default: return false;
        }

        return true;
    }

    private void Print(string text) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Rank} {text}"));

    /// <summary>
    /// <see cref="ProbeTraining"/> with one worker per rank, each rank starting from weights of its own seed (rank 0's must
    /// reach all): every step's loss, the periodic test losses and the final state digest.
    /// </summary>
    private void Train()
    {
        using var group = new MpiDataParallelGroup(communicator);
        var (model, trainer) = ProbeTraining.Create(group, workers: 1, modelSeed: 21 + Rank);
        using (model)
        using (trainer)
            foreach (var line in ProbeTraining.Run(trainer, ProbeTraining.Steps)) Print($"train {line}");
    }

    /// <summary>The last rank asks to stop once step 2 is done: every rank stops after step 3, with the same state.</summary>
    private void TrainAndStop()
    {
        using var group = new MpiDataParallelGroup(communicator);
        using var stop = new CancellationTokenSource();
        var (model, trainer) = ProbeTraining.Create(group, workers: 1);
        using (model)
        using (trainer)
        {
            var lines = ProbeTraining.Run(trainer, ProbeTraining.Steps, stop.Token, step =>
            {
                if (step == 2 && Rank == communicator.Size - 1) stop.Cancel();
            });
            foreach (var line in lines.Where(l => l.StartsWith("stopped", StringComparison.Ordinal) || l.StartsWith("digest", StringComparison.Ordinal)))
                Print($"train-stop {line}");
        }
    }

    private void RollCall() =>
        Print($"roll-call {string.Join(',', communicator.RollCall(10 + Rank, "the probe's roll call"))}");

    /// <summary>The last rank exits without finalizing before a roll call: rank 0 names it.</summary>
    private void RollCallLost()
    {
        if (Rank == communicator.Size - 1)
        {
            Console.Error.WriteLine($"rank {Rank} exits early");
            Environment.Exit(5);
        }

        RollCall();
    }
}
