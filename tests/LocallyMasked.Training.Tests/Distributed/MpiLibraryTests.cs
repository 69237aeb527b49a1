using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

public class MpiLibraryTests
{
    [Theory]
    [InlineData("MPICH Version:\t4.0.2\nMPICH Release date:\tThu Apr  7 12:34:45 CDT 2022\nMPICH ABI:\t14:2:2\n")]
    [InlineData("Intel(R) MPI Library 2021.10 for Linux* OS\n")]
    [InlineData("MVAPICH2 Version      :\t2.3.7\nMVAPICH2 Release date :\tWed March 02 22:00:00 EST 2022\n")]
    [InlineData("MPI VERSION    : CRAY MPICH version 8.1.27.2 (ANL base 3.4a2)\n")]
    public void Libraries_of_the_MPICH_family_are_accepted(string version) => MpiLibrary.IsMpichAbi(version).Should().BeTrue();

    [Fact]
    public void Open_MPI_and_unknown_libraries_are_refused_in_one_line()
    {
        var openMpi = MpiLibrary.AbiProblem("Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, repo rev: v4.1.4, May 26, 2022\0");
        openMpi.Should().StartWith("Open MPI is not supported").And.Contain("install MPICH").And.NotContain("\n");
        // Open MPI 1.10 shipped a libmpi.so.12 too: the version string, not the file name, tells them apart.
        MpiLibrary.IsMpichAbi("Open MPI v1.10.2, package: Open MPI buildd@lgw01-57 Distribution").Should().BeFalse();
        var other = MpiLibrary.AbiProblem("Microsoft MPI 10.1.12498.18\n");
        other.Should().Contain("'Microsoft MPI 10.1.12498.18' is not an MPI of the MPICH family").And.NotContain("\n");
    }

    [Fact]
    public void A_library_that_is_not_there_is_one_line_saying_to_install_MPICH()
    {
        var message = FluentActions.Invoking(() => MpiLibrary.Load(["libmpi-not-here.so.12", "/nowhere/libmpich.so.12"]))
            .Should().Throw<MpiUnavailableException>().Which.Message;
        message.Should().StartWith("MPI is not installed: none of libmpi-not-here.so.12, /nowhere/libmpich.so.12 could be loaded")
            .And.Contain("apt-get install mpich").And.NotContain("\n");
    }

    [Fact]
    public void A_library_without_MPI_functions_is_refused()
    {
        // libc loads but is not MPI: the first missing function is named.
        FluentActions.Invoking(() => MpiLibrary.Load(["libc.so.6"]))
            .Should().Throw<MpiUnavailableException>().WithMessage("libc.so.6 has no function MPI_Get_library_version*");
    }

    [Fact]
    public void The_installed_MPICH_loads_and_says_what_it_is()
    {
        // MPI_Get_library_version is allowed before MPI_Init: loading does not initialize MPI in the test process.
        MpiLibrary library;
        try
        {
            library = MpiLibrary.Load();
        }
        catch (MpiUnavailableException e)
        {
            throw new InvalidOperationException($"These tests need MPICH: install it (apt-get install mpich). {e.Message}", e);
        }

        MpiLibrary.DefaultNames.Should().Contain(library.Name);
        library.Version.Should().Contain("MPICH");
        library.Summary.Should().StartWith("MPICH Version: ").And.NotContain("\n").And.NotContain("\t");
        MpiLibrary.Load().Should().BeSameAs(library, "the default library is loaded once per process");
    }
}
