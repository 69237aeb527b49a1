using System.Diagnostics;
using LocallyMasked.Cli.Commands;
using LocallyMasked.Cli.Ranks;

namespace LocallyMasked.Cli.Tests.Distributed;

/// <summary>
/// What <c>train</c> refuses in one line when MPI is asked for but cannot serve (Open MPI's launcher, a library that is not
/// MPI), how a rank picks its GPU, and the --mpi-timeout option.
/// </summary>
public sealed class MpiRefusalTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-mpi-refuse-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Runs the program with extra environment variables (as a launcher would set them) and returns what it printed.</summary>
    private static Lmconv.Result RunWith(string[] args, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(Lmconv.Executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return new Lmconv.Result(process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void A_run_started_by_Open_MPIs_mpirun_is_refused_in_one_line()
    {
        var result = RunWith(Lmconv.TinyTraining(Path.Combine(dir, "out"), 2), ("OMPI_COMM_WORLD_RANK", "0"), ("OMPI_COMM_WORLD_SIZE", "1"));
        result.Code.Should().Be(1, result.Err);
        result.ErrLines.Should().Equal(
            "lmconv: Open MPI is not supported (this process was started by Open MPI's mpirun, whose MPI handles are pointers, not MPICH's integers); install MPICH (apt-get install mpich) and start the ranks with its mpiexec, or use Intel MPI, MVAPICH or Cray MPICH");
        result.Out.Should().BeEmpty();
    }

    [Fact]
    public void A_launch_whose_library_is_not_an_MPI_is_refused_in_one_line()
    {
        // A shared library that loads but is no MPI, found first under MPICH's ABI name (as a broken installation would be).
        var zlib = new[] { "/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib64/libz.so.1", "/usr/lib64/libz.so.1" }.First(File.Exists);
        string libraries = Directory.CreateDirectory(Path.Combine(dir, "lib")).FullName;
        File.Copy(zlib, Path.Combine(libraries, "libmpi.so.12"));
        var result = RunWith(Lmconv.TinyTraining(Path.Combine(dir, "out"), 2), ("PMI_RANK", "0"), ("PMI_SIZE", "1"), ("LD_LIBRARY_PATH", libraries));
        result.Code.Should().Be(1, result.Err);
        result.ErrLines.Should().Equal(
            "lmconv: libmpi.so.12 has no function MPI_Get_library_version: an MPI 3.0 library of the MPICH family is needed (install MPICH 3.1 or later).");
    }

    [Fact]
    public void A_launchers_malformed_rank_is_refused_in_one_line_naming_the_variable()
    {
        var result = RunWith(Lmconv.TinyTraining(Path.Combine(dir, "out"), 2), ("PMI_RANK", "first"));
        result.Code.Should().Be(1, result.Err);
        result.ErrLines.Should().Equal("lmconv: The MPI launcher's variable PMI_RANK is 'first': expected a whole number from 0 (check the launcher's environment).");
    }

    [Theory]
    [InlineData(0, 2, 2, 0)]
    [InlineData(1, 2, 2, 1)]
    [InlineData(1, 2, 8, 1)]
    [InlineData(3, 4, 1, 0)]   // one GPU visible per rank (CUDA_VISIBLE_DEVICES), or the ranks share it
    public void A_rank_uses_the_GPU_of_its_local_rank(int localRank, int localSize, int gpus, int expected) =>
        TrainingRanks.GpuIndex(localRank, localSize, gpus, "node1").Should().Be(expected);

    [Theory]
    [InlineData(2, 4, 2, "--device cuda: 4 ranks run on node1, which has 2 GPUs: start at most 2 ranks per machine (mpiexec -ppn 2) or give each rank its own GPU (CUDA_VISIBLE_DEVICES).")]
    [InlineData(0, 2, 0, "--device cuda: node1 shows no CUDA device to this rank.")]
    public void More_ranks_than_GPUs_on_a_machine_are_refused(int localRank, int localSize, int gpus, string message)
    {
        var act = () => TrainingRanks.GpuIndex(localRank, localSize, gpus, "node1");
        act.Should().Throw<InputError>().WithMessage(message);
    }

    [Fact]
    public void The_collectives_timeout_is_an_option_in_seconds()
    {
        CliApp.Settings<TrainSettings>("train").MpiTimeout.Should().Be(TimeSpan.FromMinutes(5));
        CliApp.Settings<TrainSettings>("train", "--mpi-timeout", "2.5").MpiTimeout.Should().Be(TimeSpan.FromSeconds(2.5));
        var result = Lmconv.Run("train", "--mpi-timeout", "0");
        result.Code.Should().Be(2);
        result.ErrLines.Should().ContainSingle().Which.Should().Contain("--mpi-timeout");
    }
}
