using System.Text.RegularExpressions;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.TestSupport;

namespace LocallyMasked.Cli.Tests.Documentation;

/// <summary>
/// Every one-line <c>lmconv</c> command in the code blocks, and every <c>lmconv</c> command in backticks, of the READMEs
/// and the pages of docs/ (with or without <c>mpiexec -n N</c> before it) binds to its command's settings: a renamed or
/// removed option fails here. The cheap ones (drawing orders, the version) also run; <see cref="ProgramReadmeTests"/> runs the
/// program README's orders example. The changelog keeps old commands on purpose and is not read.
/// </summary>
public sealed class DocumentedCommandTests
{
    public static TheoryData<string, string> Commands()
    {
        var data = new TheoryData<string, string>();
        var seen = new HashSet<(string, string)>();
        foreach (var page in Pages)
        {
            bool inCode = false;
            foreach (var raw in File.ReadLines(RepositoryFiles.Find(page)))
            {
                if (raw.StartsWith("```", StringComparison.Ordinal))
                {
                    inCode = !inCode && raw is "```bash" or "```";
                    continue;
                }
                // A whole command in the program README's text, in backticks (its table: `lmconv orders --order hilbert --output out`).
                if (!inCode && page == ProgramReadme)
                    foreach (Match span in Regex.Matches(raw, "`(lmconv [^`]+)`"))
                        if (!IsSynopsis(span.Groups[1].Value) && seen.Add((page, span.Groups[1].Value)))
                            data.Add(page, span.Groups[1].Value);
                string line = Regex.Replace(raw, @"\s+#.*$", "").Trim();
                line = Regex.Replace(line, @"^mpiexec -n \d+ ", "");
                line = Regex.Replace(line, @"^dotnet run .*--project samples/LocallyMasked\.Cli -- ", "lmconv ");   // the program run from source
                line = Regex.Replace(line, @"\s*\|.*$", "");   // a pipe into another program
                // Lines continued on the next one, or built from shell variables, are the scheduler scripts': not one command.
                if (!inCode || !line.StartsWith("lmconv ", StringComparison.Ordinal) || line.EndsWith('\\') || line.Contains('$') || line == "lmconv --version"
                    || IsSynopsis(line)) continue;
                if (seen.Add((page, line))) data.Add(page, line);
            }
        }
        return data;
    }

    private const string ProgramReadme = "samples/LocallyMasked.Cli/README.md";

    /// <summary>
    /// A synopsis rather than a command: optional parts in brackets, alternatives (a|b), placeholders in capitals
    /// (NAME, DIR, N) or angle brackets, or an elision.
    /// </summary>
    private static bool IsSynopsis(string line) =>
        line.Contains('[') || line.Contains('|') || line.Contains('<') || line.Contains("...") || Regex.IsMatch(line, @"(^|[\s:/=])[A-Z]{1,}(\b|$)");

    /// <summary>The pages whose commands are checked: the READMEs and every page of docs/.</summary>
    public static IEnumerable<string> Pages =>
        new[] { "README.md", ProgramReadme }.Concat(
            Directory.GetFiles(RepositoryFiles.Find("docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_documented_command_binds(string page, string line)
    {
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        var bind = () => CliApp.Settings(args);
        bind.Should().NotThrow($"{page}: {line}");
    }

    [Fact]
    public void The_cheap_documented_commands_run()
    {
        var orders = Commands().Select(row => ((string)row[0], (string)row[1])).Where(c => c.Item2.StartsWith("lmconv orders ", StringComparison.Ordinal)).ToArray();
        orders.Should().NotBeEmpty("the README shows how to draw an order");
        foreach (var (page, line) in orders)
        {
            var folder = Directory.CreateTempSubdirectory("lmconv-doc-");
            try
            {
                // The documented output folder is replaced by a temporary one; every other option runs as written.
                var args = Regex.Replace(line, @"--output \S+", "--output " + folder.FullName).Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
                var result = Lmconv.Run(args);
                result.Code.Should().Be(0, $"{page}: {line} printed {result.Err}");
                Directory.GetFiles(folder.FullName, "*.png", SearchOption.AllDirectories).Should().NotBeEmpty($"{page}: {line} draws pictures");
            }
            finally { folder.Delete(recursive: true); }
        }
        var version = Lmconv.Run("--version");
        version.Code.Should().Be(0);
        version.Out.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+", "README: lmconv --version prints the package version");
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
