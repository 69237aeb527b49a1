using System.Security.Cryptography;
using System.Text;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Training.Tests.Distributed;

/// <summary>The settings check's hash and message; ranks that disagree: <see cref="MultiProcessTests"/>.</summary>
public class SettingsAgreementTests
{
    [Fact]
    public void Settings_are_hashed_as_UTF8_with_SHA256()
    {
        SettingsAgreement.Hash("train --filters 16 --seed 1").Should().Equal(SHA256.HashData(Encoding.UTF8.GetBytes("train --filters 16 --seed 1")));
        SettingsAgreement.Hash("données").Should().NotEqual(SettingsAgreement.Hash("donnees"));
    }

    [Fact]
    public void The_refusal_names_the_ranks_in_one_line()
    {
        new SettingsMismatchException([1]).Message.Should().Be(
            "rank 1 was started with other settings than rank 0: start every rank with the same command line");
        var several = new SettingsMismatchException([1, 4, 5]);
        several.Message.Should().StartWith("ranks 1, 4 and 5 were started with other settings than rank 0").And.NotContain("\n");
        several.DifferingRanks.Should().Equal(1, 4, 5);
    }
}
