using System.Text.RegularExpressions;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.TestSupport;

namespace LocallyMasked.Cli.Tests.Documentation;

/// <summary>
/// Every one-line <c>lmconv</c> command in the code blocks of the README and of the pages on results and clusters
/// (with or without <c>mpiexec -n N</c> before it) binds to its command's settings: a renamed or removed option fails here.
/// </summary>
public sealed class DocumentedCommandTests
{
    public static TheoryData<string, string> Commands()
    {
        var data = new TheoryData<string, string>();
        foreach (var page in new[] { "README.md", "docs/evaluation-results.md", "docs/cluster.md" })
        {
            bool inCode = false;
            foreach (var raw in File.ReadLines(RepositoryFiles.Find(page)))
            {
                if (raw.StartsWith("```", StringComparison.Ordinal))
                {
                    inCode = raw == "```bash";
                    continue;
                }
                string line = Regex.Replace(raw, @"\s+#.*$", "").Trim();
                line = Regex.Replace(line, @"^mpiexec -n \d+ ", "");
                line = Regex.Replace(line, @"\s*\|.*$", "");   // a pipe into another program
                // Lines continued on the next one, or built from shell variables, are the scheduler scripts': not one command.
                if (!inCode || !line.StartsWith("lmconv ", StringComparison.Ordinal) || line.EndsWith('\\') || line.Contains('$') || line == "lmconv --version") continue;
                data.Add(page, line);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_documented_command_binds(string page, string line)
    {
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        var bind = () => CliApp.Settings(args);
        bind.Should().NotThrow($"{page}: {line}");
    }

    [Fact]
    public void The_pages_have_commands_of_each_new_command()
    {
        var lines = Commands().Select(row => (string)row[1]).ToArray();
        foreach (var command in new[] { "lmconv score ", "lmconv merge ", "lmconv evaluate " })
            lines.Should().Contain(l => l.StartsWith(command, StringComparison.Ordinal), command);
        lines.Should().Contain(l => l.Contains("--shard 0/2")).And.Contain(l => l.Contains("--json -"));
    }
}
