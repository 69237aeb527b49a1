using LocallyMasked.TestSupport;
using System.Text.RegularExpressions;

namespace LocallyMasked.Tests.Architecture;

/// <summary>
/// The dependency rules of docs/architecture.md, checked on the source: every file's namespace is a node, every
/// LocallyMasked namespace a file names (in a using directive or in code, comments left out) an edge. The folders of the
/// model package form one chain in the order of the paper, each using only earlier ones; no namespace of either package
/// takes part in a cycle; the model package never names the training package.
/// </summary>
public class DependencyTests
{
    /// <summary>The model package's stages in data-flow order: a stage may use only the stages before it.</summary>
    internal static readonly string[] Stages =
    {
        "Numerics", "Orders", "Masks", "Convolution", "Layers", "Likelihoods", "Models", "Sampling", "Checkpoints",
    };

    private static readonly Regex Reference = new(@"\bLocallyMasked\.([A-Z]\w*(?:\.[A-Z]\w*)*)", RegexOptions.Compiled);
    private static readonly Regex Namespace = new(@"^namespace\s+(LocallyMasked(?:\.\w+)*)\s*;", RegexOptions.Compiled | RegexOptions.Multiline);

    [Fact]
    public void Every_stage_of_the_model_package_uses_only_earlier_stages()
    {
        var graph = Graph("src/LocallyMasked");
        var violations = new List<string>();
        foreach (var (node, edges) in graph)
        {
            int from = StageOf(node);
            from.Should().BeGreaterThanOrEqualTo(0, $"namespace {node} must belong to one of the stages {string.Join(", ", Stages)}");
            foreach (var (target, file) in edges)
            {
                if (target.StartsWith("LocallyMasked.Training", StringComparison.Ordinal))
                    violations.Add($"{file}: the model package names {target}");
                else if (StageOf(target) is var to && to > from)
                    violations.Add($"{file}: {node} uses the later stage {target}");
            }
        }
        violations.Should().BeEmpty();
    }

    [Fact]
    public void No_namespace_of_either_package_is_part_of_a_cycle()
    {
        var graph = Graph("src/LocallyMasked");
        foreach (var (node, edges) in Graph("src/LocallyMasked.Training")) graph[node] = edges;
        FindCycle(graph).Should().BeNull("namespaces must depend on each other in one direction only");
    }

    [Fact]
    public void The_cycle_finder_reports_a_cycle_and_the_stage_rule_sees_a_backward_use()
    {
        // The checks above must be able to fail: a two-node and a three-node cycle are found, a chain is not.
        var cyclic = new Dictionary<string, List<(string, string)>>
        {
            ["A"] = new() { ("B", "a.cs") },
            ["B"] = new() { ("C", "b.cs") },
            ["C"] = new() { ("A", "c.cs") },
        };
        FindCycle(cyclic).Should().Equal("A", "B", "C", "A");
        var chain = new Dictionary<string, List<(string, string)>> { ["A"] = new() { ("B", "a.cs") }, ["B"] = new() };
        FindCycle(chain).Should().BeNull();
        StageOf("LocallyMasked.Convolution.Planning").Should().Be(Array.IndexOf(Stages, "Convolution"));
        StageOf("LocallyMasked.Models").Should().BeGreaterThan(StageOf("LocallyMasked.Layers"));
    }

    [Fact]
    public void The_architecture_document_lists_the_stages_in_the_tested_order()
    {
        var text = File.ReadAllText(RepositoryFiles.Find("docs/architecture.md"));
        var positions = Stages.Select(stage => text.IndexOf($"`{stage}/`", StringComparison.Ordinal)).ToArray();
        positions.Should().OnlyContain(p => p >= 0, "every stage is described in docs/architecture.md");
        positions.Should().BeInAscendingOrder("docs/architecture.md describes the stages in data-flow order");
    }

    private static int StageOf(string ns)
    {
        var parts = ns.Split('.');
        return parts.Length < 2 ? -1 : Array.IndexOf(Stages, parts[1]);
    }

    /// <summary>Namespace -> (namespace used, file) for every C# file under a project folder.</summary>
    private static Dictionary<string, List<(string Target, string File)>> Graph(string project)
    {
        var root = RepositoryFiles.Find(project);
        var graph = new Dictionary<string, List<(string, string)>>(StringComparer.Ordinal);
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToArray();
        files.Should().NotBeEmpty();
        var known = new HashSet<string>(StringComparer.Ordinal);
        var sources = new List<(string File, string Namespace, string Code)>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var match = Namespace.Match(text);
            if (!match.Success) continue; // assembly attributes
            var code = string.Join('\n', text.Split('\n').Select(line => line.Split("//")[0]));
            sources.Add((Path.GetRelativePath(root, file), match.Groups[1].Value, code));
            known.Add(match.Groups[1].Value);
        }
        foreach (var (file, ns, code) in sources)
        {
            if (!graph.TryGetValue(ns, out var edges)) graph[ns] = edges = new List<(string, string)>();
            foreach (Match reference in Reference.Matches(code))
            {
                // The longest known namespace that the reference starts with (a type name may follow it).
                var name = "LocallyMasked." + reference.Groups[1].Value;
                var target = known.Where(k => name == k || name.StartsWith(k + ".", StringComparison.Ordinal)).OrderByDescending(k => k.Length).FirstOrDefault()
                    ?? (name.StartsWith("LocallyMasked.Training", StringComparison.Ordinal) ? "LocallyMasked.Training" : null);
                if (target is not null && target != ns) edges.Add((target, file));
            }
        }
        return graph;
    }

    /// <summary>A cycle as the list of its nodes (first node repeated at the end), or null.</summary>
    private static List<string>? FindCycle(Dictionary<string, List<(string Target, string File)>> graph)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the stack, 2 done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var (target, _) in graph.TryGetValue(node, out var edges) ? edges : new List<(string, string)>())
            {
                if (state.TryGetValue(target, out var s) && s == 1)
                    return path.Skip(path.IndexOf(target)).Append(target).ToList();
                if (!state.ContainsKey(target) && Visit(target) is { } cycle) return cycle;
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
            if (!state.ContainsKey(node) && Visit(node) is { } cycle)
                return cycle;
        return null;
    }
}
