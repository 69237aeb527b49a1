using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LocallyMasked.Training.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.MpiProbe;

/// <summary>The probe's scenarios; each prints "&lt;rank&gt; &lt;scenario&gt; ..." lines on standard output.</summary>
internal sealed class Scenarios(MpiCommunicator communicator)
{
    private int Rank => communicator.Rank;

    /// <summary>Whether a scenario finalized MPI.</summary>
    public bool Disposed { get; private set; }

    public bool Run(string name)
    {
        switch (name.Split('=')[0])
        {
            case "constants": ConstantsCheck.Run(communicator, Print); break;
            case "info": Info(); break;
            case "allreduce": Allreduce(); break;
            case "broadcast": Broadcast(); break;
            case "barrier": Barrier(); break;
            case "allgather": Allgather(); break;
            case "gradients": Gradients(); break;
            case "settings": SettingsAgreement.Require(communicator, "train --filters 16 --seed 1"); Print("settings agreed"); break;
            case "settings-differ": SettingsAgreement.Require(communicator, Rank == 1 ? "train --filters 32 --seed 1" : "train --filters 16 --seed 1"); break;
            case "stall": Stall(); break;
            case "exit-early": ExitEarly(); break;
            case "after-dispose": AfterDispose(); break;
            case "timing": AllreduceTiming.Run(communicator, name.Contains('=') ? name[(name.IndexOf('=') + 1)..] : null, Print); break;
            default: return false;
        }

        return true;
    }

    private void Print(string text) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Rank} {text}"));

    private static string Digest<T>(ReadOnlySpan<T> values) where T : unmanaged =>
        Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values)));

    private void Info() =>
        Print($"info size {communicator.Size} local {communicator.LocalRank} {communicator.LocalSize} thread {communicator.ThreadLevel} root {communicator.IsRoot} processor {communicator.ProcessorName} library {communicator.Library.Summary}");

    private void Allreduce()
    {
        foreach (int count in ProbeData.AllreduceCounts)
        {
            var floats = ProbeData.Floats(Rank, count, ProbeData.Seed);
            communicator.AllreduceSum(floats.AsSpan());
            Print($"allreduce float {count} {Digest<float>(floats)}");
            var doubles = ProbeData.Doubles(Rank, count, ProbeData.Seed);
            communicator.AllreduceSum(doubles.AsSpan());
            Print($"allreduce double {count} {Digest<double>(doubles)}");
        }
    }

    private void Broadcast()
    {
        var bytes = ProbeData.Bytes(Rank, 1000, ProbeData.Seed);
        communicator.Broadcast(bytes.AsSpan());
        Print($"broadcast byte {Digest<byte>(bytes)}");
        var floats = ProbeData.Floats(Rank, 1000, ProbeData.Seed);
        communicator.Broadcast(floats.AsSpan());
        Print($"broadcast float {Digest<float>(floats)}");
        var doubles = ProbeData.Doubles(Rank, 1000, ProbeData.Seed);
        communicator.Broadcast(doubles.AsSpan());
        Print($"broadcast double {Digest<double>(doubles)}");
        // Only rank 0 knows the length: 12,345 bytes.
        var received = communicator.BroadcastBytes(communicator.IsRoot ? ProbeData.Bytes(0, 12_345, ProbeData.Seed) : null);
        Print($"broadcast bytes {received.Length} {Digest<byte>(received)}");
    }

    private void Barrier()
    {
        Thread.Sleep(400 * Rank);
        Print($"barrier arrive {DateTime.UtcNow.Ticks}");
        communicator.Barrier();
        Print($"barrier leave {DateTime.UtcNow.Ticks}");
    }

    private void Allgather()
    {
        Print($"allgather int {string.Join(',', communicator.Allgather(7 * Rank + 1))}");
        Print($"allgather long {string.Join(',', communicator.Allgather((1L << 40) * Rank + 3))}");
        Print(string.Create(CultureInfo.InvariantCulture, $"allgather double {string.Join(',', communicator.Allgather(Rank + 0.25))}"));
        // Every rank's values of its own length (none on rank 0), concatenated in rank order.
        var doubles = communicator.AllgatherConcatenated(ProbeData.Doubles(Rank, ProbeData.GatheredCount(Rank), ProbeData.Seed));
        Print($"allgather concatenated doubles {doubles.Length} {Digest<double>(doubles)}");
        var floats = communicator.AllgatherConcatenated(ProbeData.Floats(Rank, ProbeData.GatheredCount(Rank), ProbeData.Seed));
        Print($"allgather concatenated floats {floats.Length} {Digest<float>(floats)}");
    }

    /// <summary>
    /// Parameters of <see cref="ProbeData.Shapes"/> with this rank's gradients (one a transposed view, one missing on rank 1,
    /// one missing everywhere), summed by <see cref="GradientAllreduce.SumGradients"/>; and plain tensors by SumInPlace.
    /// </summary>
    private void Gradients()
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        foreach (int bucket in ProbeData.BucketSizes)
        {
            using var scope = NewDisposeScope();
            using var reduction = new GradientAllreduce(communicator, bucket);
            var parameters = ProbeData.Shapes.Select((shape, i) => Parameter(shape, dtype, i)).ToArray();
            reduction.SumGradients(parameters);
            for (int i = 0; i < parameters.Length; i++)
                Print($"gradients {dtype} {bucket} {i} {(parameters[i].grad is { } g ? ProbeData.Digest(g) : "none")}");

            var tensors = ProbeData.Shapes.Select((_, i) => ProbeData.Tensor(Rank, i, dtype)).ToArray();
            reduction.SumInPlace(tensors);
            for (int i = 0; i < tensors.Length; i++) Print($"tensors {dtype} {bucket} {i} {ProbeData.Digest(tensors[i])}");
        }
    }

    private TorchSharp.Modules.Parameter Parameter(long[] shape, ScalarType dtype, int index)
    {
        var parameter = new TorchSharp.Modules.Parameter(zeros(shape, dtype));
        parameter.grad = ProbeData.Gradient(Rank, index, dtype);
        return parameter;
    }

    /// <summary>The last rank sleeps well past the timeout before an allreduce: the others time out and abort the job.</summary>
    private void Stall()
    {
        if (Rank == communicator.Size - 1) Thread.Sleep(TimeSpan.FromMinutes(2));
        var values = new float[1000];
        communicator.AllreduceSum(values.AsSpan());
        Print("stall allreduce done");
    }

    /// <summary>The last rank exits without finalizing, before an allreduce that the others wait in.</summary>
    private void ExitEarly()
    {
        if (Rank == communicator.Size - 1)
        {
            Console.Error.WriteLine($"rank {Rank} exits early");
            Environment.Exit(5);
        }

        var values = new float[1000];
        communicator.AllreduceSum(values.AsSpan());
        Print("exit-early allreduce done");
    }

    /// <summary>What the API says to a second initialization, to a collective after finalization, and to initialization after it.</summary>
    private void AfterDispose()
    {
        try { MpiCommunicator.Initialize(MpiLaunch.FromEnvironment()); }
        catch (InvalidOperationException e) { Print($"after-dispose initialized-twice {e.Message}"); }
        communicator.Dispose();
        Disposed = true;
        try { communicator.Barrier(); }
        catch (ObjectDisposedException e) { Print($"after-dispose barrier {e.Message.Split('\n')[0]}"); }
        try { MpiCommunicator.Initialize(MpiLaunch.FromEnvironment()); }
        catch (InvalidOperationException e) { Print($"after-dispose initialize {e.Message}"); }
    }
}
