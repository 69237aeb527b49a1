using System.Text.RegularExpressions;
using LocallyMasked.TestSupport;

namespace LocallyMasked.Cli.Tests.Documentation;

/// <summary>
/// The program's README (samples/LocallyMasked.Cli/README.md) against the program (issue 26: it named a library that no
/// longer existed and files that orders did not write): its commands table has a row per command, the types and folders
/// it names exist and every folder of the program is named, the namespaces it names exist, and the orders example it
/// gives writes the files it says.
/// </summary>
public sealed class ProgramReadmeTests : IDisposable
{
    private const string Page = "samples/LocallyMasked.Cli/README.md";
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-readme-").FullName;
    private readonly string text = File.ReadAllText(RepositoryFiles.Find(Page));

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>The text in backticks.</summary>
    private IEnumerable<string> Spans() => Regex.Matches(text, "`([^`\n]+)`").Select(m => m.Groups[1].Value);

    [Fact]
    public void The_commands_table_has_a_row_for_each_command_and_no_other()
    {
        var commands = CliApp.CreateRootCommand(Terminal.Muted).Subcommands.Select(c => c.Name).ToArray();
        commands.Should().Contain(new[] { "train", "evaluate", "sample", "complete", "orders", "download", "score", "merge" });
        var rows = Regex.Matches(text, @"^\| `(\w+)[ `]", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().ToArray();
        rows.Should().BeEquivalentTo(commands, "each command has a row in the table and each row names a command");
    }

    [Fact]
    public void The_types_it_names_exist_in_the_program_or_the_packages()
    {
        var assemblies = new[] { typeof(CliApp).Assembly, typeof(LocallyMasked.Training.TrainerOptions).Assembly, typeof(LocallyMasked.Models.PixelCnnConfig).Assembly };
        var types = assemblies.SelectMany(a => a.GetTypes()).Select(t => Regex.Replace(t.Name, "`.*$", "")).ToHashSet(StringComparer.Ordinal);
        // Names of types: a capitalized identifier (a generic one without its parameters); members and calls are left out.
        var named = Spans().Select(s => Regex.Replace(s, "<.*>$", "")).Where(s => Regex.IsMatch(s, "^[A-Z][A-Za-z]+$") && s is not "Bind" and not "LocallyMasked").Distinct().ToArray();
        named.Should().Contain(new[] { "ScoreSettings", "RunManifest", "ShardedBatches", "Datasets" }, "the README names the program's parts");
        named.Should().OnlyContain(name => types.Contains(name), "every type the README names exists");
        typeof(LocallyMasked.Cli.CommandLine.ProgramCommand<>).GetMethod("Bind").Should().NotBeNull("the README says each command has one Bind");
    }

    [Fact]
    public void The_namespaces_it_names_exist()
    {
        var namespaces = AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name!.StartsWith("LocallyMasked", StringComparison.Ordinal)
                || a.GetName().Name == "lmconv")
            .SelectMany(a => a.GetTypes()).Select(t => t.Namespace).OfType<string>().ToHashSet(StringComparer.Ordinal);
        _ = typeof(LocallyMasked.Training.Pictures.PngWriter);   // loads the training package
        foreach (var name in Spans().Where(s => Regex.IsMatch(s, @"^LocallyMasked(\.[A-Z]\w*)+$")))
            namespaces.Should().Contain(n => n == name || n.StartsWith(name + ".", StringComparison.Ordinal), $"{Page} names {name}");
    }

    [Fact]
    public void The_folders_table_names_every_folder_of_the_program_and_only_those()
    {
        string program = Path.GetDirectoryName(RepositoryFiles.Find(Page))!;
        var folders = Directory.GetDirectories(program).Where(d => Directory.EnumerateFiles(d, "*.cs").Any()).Select(Path.GetFileName).ToArray();
        // The first cell of each row of the folders table: `Imaging/`, `Logs/`.
        var named = Regex.Matches(text, @"^\| ([^|]*/`[^|]*)\|", RegexOptions.Multiline)
            .SelectMany(row => Regex.Matches(row.Groups[1].Value, @"`(\w+)/`").Select(m => m.Groups[1].Value)).Distinct().ToArray();
        named.Should().BeEquivalentTo(folders);
    }

    [Fact]
    public void The_orders_example_writes_the_files_it_names()
    {
        // The table's example: "`lmconv orders --order hilbert --output out` writes `out/hilbert-0-path.png` ... `out/hilbert-7-masks-B.png`".
        var example = Regex.Match(text, @"`lmconv (orders [^`]*--output out)` writes `out/([^`]+)` \.\.\. `out/([^`]+)`");
        example.Success.Should().BeTrue("the README gives the orders example");
        var args = example.Groups[1].Value.Split(' ').ToArray();
        args[^1] = Path.Combine(dir, "out");
        var run = Lmconv.Run(args);
        run.Code.Should().Be(0, run.Err);
        File.Exists(Path.Combine(dir, "out", example.Groups[2].Value)).Should().BeTrue(example.Groups[2].Value);
        File.Exists(Path.Combine(dir, "out", example.Groups[3].Value)).Should().BeTrue(example.Groups[3].Value);
        Directory.GetFiles(Path.Combine(dir, "out")).Should().HaveCount(16, "8 variants, a path and a mask picture each");
    }
}
