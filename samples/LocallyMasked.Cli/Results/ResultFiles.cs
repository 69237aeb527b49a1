using System.Reflection;
using System.Text;
using LocallyMasked.Training.Evaluation;

namespace LocallyMasked.Cli.Results;

/// <summary>
/// The files programs read: evaluation results as JSON (<see cref="EvaluationResult"/>, docs/evaluation-results.md) and
/// per-image tables as CSV (<see cref="PerImageCsv"/>). A path of "-" is standard output. Files are written whole or not
/// at all (a temporary file beside the target, then renamed), so that a reader never sees half a file.
/// </summary>
public static class ResultFiles
{
    /// <summary>The path that means standard output.</summary>
    public const string StandardOutput = "-";

    /// <summary>What wrote a result: "lmconv" and the package version.</summary>
    public static string Program { get; } =
        $"lmconv {typeof(ResultFiles).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?"}";

    /// <summary>Checks, before any work, that a result can be written at <paramref name="path"/> (standard output always can).</summary>
    /// <param name="path">The path, or "-", or null (none asked for).</param>
    /// <param name="option">The option that named it.</param>
    /// <exception cref="InputError">A folder, or a file in a folder that cannot be written.</exception>
    public static void CheckWritable(string? path, string option)
    {
        if (path is null or StandardOutput) return;
        Checks.WritableFile(path, option);
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, or to <paramref name="standardOutput"/> for "-".</summary>
    /// <param name="path">The file, or "-".</param>
    /// <param name="text">The text.</param>
    /// <param name="standardOutput">Standard output.</param>
    /// <param name="option">The option that named the file, for an error.</param>
    /// <exception cref="InputError">The file cannot be written.</exception>
    public static void Write(string path, string text, TextWriter standardOutput, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(standardOutput);
        if (path == StandardOutput)
        {
            standardOutput.Write(text);
            standardOutput.Flush();
            return;
        }
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(temporary)) File.Delete(temporary);
            throw new InputError($"{option} {path}: cannot write the file ({CliApp.OneLine(e)}).", e);
        }
    }

    /// <summary>Reads an evaluation result written by <c>evaluate --json</c> or <c>merge --json</c>.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="InputError">Missing, unreadable, or not an evaluation result (the file named, and why).</exception>
    public static EvaluationResult Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InputError($"{path}: is a folder; name the JSON files of evaluate --json.");
        if (!File.Exists(path)) throw new InputError($"{path}: file not found.");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputError($"{path}: cannot read the file ({CliApp.OneLine(e)}).", e);
        }
        try
        {
            return EvaluationResult.FromJson(text);
        }
        catch (InvalidDataException e)
        {
            throw new InputError($"{path}: {e.Message} (expected a file written by lmconv evaluate --json).", e);
        }
    }
}
