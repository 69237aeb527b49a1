namespace LocallyMasked.Cli.Tests.Hostile;

/// <summary>
/// A --mirror address with credentials (<c>user:password@</c>) is never printed whole, on standard output or in the error
/// line, whether the address is refused by the parser or the download fails.
/// </summary>
public sealed class SecretsTests
{
    private const string Password = "s3cretPw";

    [Theory]
    [InlineData("http://someone:" + Password + "@127.0.0.1:1/mnist/", "***@127.0.0.1:1")]   // a download that fails (nothing listens on port 1)
    [InlineData("ftp://someone:" + Password + "@example.org/mnist/", "***@example.org")]       // an address of another scheme
    public void A_mirror_password_is_redacted_everywhere(string mirror, string shown)
    {
        string folder = Directory.CreateTempSubdirectory("lm-secrets-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "tmp"));
            var outcome = ProgramCaseRunner.Start(new ProgramRun("download", "mnist", "--to", "data/mnist", "--mirror", mirror), folder);
            outcome.Killed.Should().BeNull(outcome.Err);
            outcome.Code.Should().Be(1, outcome.Err);
            (outcome.Out + outcome.Err).Should().NotContain(Password);
            outcome.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should().Contain(shown);
            Directory.Exists(Path.Combine(folder, "data")).Should().BeFalse("the failed download removes the folders it made");
        }
        finally
        {
            HostileFiles.DeleteTree(folder);
        }
    }
}
