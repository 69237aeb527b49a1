using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

public class MpiLaunchTests
{
    private static MpiLaunch Detect(params (string Name, string Value)[] variables)
    {
        var environment = variables.ToDictionary(v => v.Name, v => v.Value);
        return MpiLaunch.Detect(name => environment.GetValueOrDefault(name));
    }

    [Fact]
    public void A_plain_process_is_not_launched()
    {
        var launch = Detect(("HOME", "/root"), ("SLURM_PROCID", "3"), ("SLURM_NTASKS", "8"));
        launch.Should().Be(MpiLaunch.None, "Slurm's task variables alone are set for every srun task, MPI or not");
        launch.IsLaunched.Should().BeFalse();
        launch.EnsureSupported();
    }

    [Fact]
    public void MPICH_mpiexec_gives_rank_size_and_local_rank()
    {
        // What Hydra (MPICH 4.0.2's mpiexec -n 2) sets for its second process.
        var launch = Detect(("PMI_RANK", "1"), ("PMI_SIZE", "2"), ("PMI_FD", "8"), ("MPI_LOCALRANKID", "1"), ("MPI_LOCALNRANKS", "2"));
        launch.Should().Be(new MpiLaunch(MpiLauncher.Pmi, 1, 2, 1));
        launch.IsLaunched.Should().BeTrue();
        launch.EnsureSupported();
    }

    [Fact]
    public void Slurm_PMI2_and_PMIx_take_size_and_local_rank_from_Slurm()
    {
        Detect(("PMI_RANK", "5"), ("PMI_SIZE", "8"), ("SLURM_PROCID", "5"), ("SLURM_LOCALID", "1"))
            .Should().Be(new MpiLaunch(MpiLauncher.Pmi, 5, 8, 1));
        Detect(("PMIX_RANK", "5"), ("SLURM_NTASKS", "8"), ("SLURM_LOCALID", "1"))
            .Should().Be(new MpiLaunch(MpiLauncher.Pmix, 5, 8, 1));
        Detect(("PMIX_RANK", "2")).Should().Be(new MpiLaunch(MpiLauncher.Pmix, 2, null, null), "PMIx alone does not tell the size");
        Detect(("PMI_RANK", "0"), ("PMI_SIZE", "4"), ("PMI_LOCAL_RANK", "0")).Should().Be(new MpiLaunch(MpiLauncher.Pmi, 0, 4, 0), "Cray's PMI");
        Detect(("MV2_COMM_WORLD_RANK", "3"), ("MV2_COMM_WORLD_SIZE", "4"), ("MV2_COMM_WORLD_LOCAL_RANK", "1"))
            .Should().Be(new MpiLaunch(MpiLauncher.Mvapich, 3, 4, 1));
    }

    [Fact]
    public void Open_MPI_is_detected_before_its_PMIx_variables_and_refused_in_one_line()
    {
        var launch = Detect(("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("PMIX_RANK", "1"));
        launch.Should().Be(new MpiLaunch(MpiLauncher.OpenMpi, 1, 2, 1));
        var refusal = launch.Invoking(l => l.EnsureSupported()).Should().Throw<MpiUnavailableException>().Which.Message;
        refusal.Should().StartWith("Open MPI is not supported").And.Contain("install MPICH").And.NotContain("\n");
    }

    [Theory]
    [InlineData("PMI_RANK", "one")]
    [InlineData("PMI_RANK", "-1")]
    [InlineData("PMI_SIZE", "0")]
    public void A_malformed_launcher_variable_is_named(string name, string value)
    {
        var variables = new Dictionary<string, string> { ["PMI_RANK"] = "0", ["PMI_SIZE"] = "2", [name] = value };
        var message = FluentActions.Invoking(() => MpiLaunch.Detect(n => variables.GetValueOrDefault(n)))
            .Should().Throw<MpiUnavailableException>().Which.Message;
        message.Should().Contain(name).And.Contain($"'{value}'");
    }

    [Fact]
    public void A_rank_beyond_the_size_is_refused()
    {
        FluentActions.Invoking(() => Detect(("PMI_RANK", "2"), ("PMI_SIZE", "2")))
            .Should().Throw<MpiUnavailableException>().WithMessage("*rank 2 of 2*");
    }
}
