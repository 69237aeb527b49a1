using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Results;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// The `merge` command: puts the parts of a sharded evaluation (<c>evaluate --shard I/N --json part-I.json</c>) together
/// into the whole evaluation's result, equal to one evaluation of all the images bit for bit
/// (<see cref="EvaluationResult.Merge"/>), and prints its table.
/// </summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<MergeSettings> Create(Terminal terminal)
    {
        var parts = new Argument<string[]>("parts") { Description = "The parts' JSON files (evaluate --shard I/N --json), in any order.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<string?>("--json") { Description = "Write the whole evaluation as JSON (the schema of evaluate --json) to this file, or to standard output with - (the table then goes to standard error)." };
        var perImage = new Option<string?>("--per-image") { Description = "Also write one CSV row per image of the whole evaluation to this file, or - for standard output." };
        var command = new Command("merge", "Put the parts of a sharded evaluation (evaluate --shard I/N --json) together into the whole evaluation.")
        {
            parts, json, perImage,
        };
        return new ProgramCommand<MergeSettings>(command, result =>
        {
            var settings = new MergeSettings { Parts = result.GetValue(parts)!, Json = result.GetValue(json), PerImage = result.GetValue(perImage) };
            if (settings.Json == ResultFiles.StandardOutput && settings.PerImage == ResultFiles.StandardOutput)
                throw new InputError("--json - and --per-image -: only one of them can go to standard output; name a file for the other.");
            return settings;
        }, Run, terminal);
    }

    /// <summary>Reads the parts, checks that they make one evaluation, and writes and prints the whole.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(MergeSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        ResultFiles.CheckWritable(settings.Json, "--json");
        ResultFiles.CheckWritable(settings.PerImage, "--per-image");
        var human = settings.Json == ResultFiles.StandardOutput || settings.PerImage == ResultFiles.StandardOutput ? terminal.OnStandardError() : terminal;
        var duplicate = settings.Parts.GroupBy(p => Path.GetFullPath(p)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InputError($"{duplicate.First()}: given {duplicate.Count()} times; give each part once.");
        var parts = settings.Parts.Select(ResultFiles.Read).ToArray();
        EvaluationResult whole;
        try
        {
            whole = EvaluationResult.Merge(parts, settings.Parts) with { Program = ResultFiles.Program };
        }
        catch (ArgumentException e)
        {
            throw new InputError(CliApp.OneLine(e), e);
        }

        human.Line($"merged {parts.Length} part{(parts.Length == 1 ? "" : "s")}: {whole.Images} images of {whole.Data.Dataset} ({whole.Data.Source}), model {string.Join(", ", whole.Model.Files)}");
        EvaluationTable.Print(human, whole.ToReport(), whole.Data.Bits > 1, whole.Orders.Select(o => o.Name).ToArray());
        if (whole.ToRegionReport() is { } region) EvaluationTable.PrintRegion(human, region, whole.Region!.Name, whole.Model.Kind);
        if (settings.Json is { } jsonPath)
        {
            ResultFiles.Write(jsonPath, whole.ToJson(), terminal.Out, "--json");
            if (jsonPath != ResultFiles.StandardOutput) human.Line($"results: {jsonPath}");
        }
        if (settings.PerImage is { } csvPath)
        {
            ResultFiles.Write(csvPath, PerImageCsv.Format(whole), terminal.Out, "--per-image");
            if (csvPath != ResultFiles.StandardOutput) human.Line($"per-image figures: {csvPath}");
        }
        return ExitCodes.Success;
    }
}
