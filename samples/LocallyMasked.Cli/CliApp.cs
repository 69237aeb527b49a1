using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using LocallyMasked.Checkpoints;
using LocallyMasked.Training;

namespace LocallyMasked.Cli;

/// <summary>
/// The program's command tree and its error handling (separate from Main so that tests run commands in-process). Every
/// user error ends as one line on standard error naming the option or file, with a documented exit code
/// (<see cref="ExitCodes"/>); a stack trace is printed only with --verbose or for a genuine bug.
/// </summary>
public static class CliApp
{
    /// <summary>--verbose: stack traces with error messages (for every command).</summary>
    public static Option<bool> Verbose { get; } = new("--verbose") { Description = "Print the stack trace with an error message.", Recursive = true };

    /// <summary>Builds the root command with train, evaluate, sample, complete and orders.</summary>
    /// <param name="terminal">Where the commands write.</param>
    public static RootCommand CreateRootCommand(Terminal terminal)
    {
        var common = new CommonOptions();
        var root = new RootCommand("Locally masked PixelCNN: train, evaluate, sample, complete, and draw orders.")
        {
            TrainCommand.Create(common, terminal),
            EvaluateCommand.Create(common, terminal),
            SampleCommand.Create(common, terminal),
            CompleteCommand.Create(common, terminal),
            OrdersCommand.Create(terminal),
            DownloadCommand.Create(),
        };
        root.Options.Add(Verbose);
        return root;
    }

    /// <summary>Parses and runs a command line on the console; returns the exit code.</summary>
    /// <param name="args">The arguments.</param>
    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Standard output.</param>
    /// <param name="error">Standard error.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var terminal = new Terminal(output, error);
        var root = CreateRootCommand(terminal);
        var result = root.Parse(args);
        if (result.Action is ParseErrorAction)
        {
            error.WriteLine($"lmconv: {ParseErrorMessage(result)} (see 'lmconv{CommandPath(result)} --help')");
            return ExitCodes.Usage;
        }
        bool verbose = result.GetValue(Verbose);
        try
        {
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = error });
        }
        catch (Exception e)
        {
            return Report(e, verbose, error);
        }
    }

    /// <summary>Prints an exception as the program's error line and returns the exit code for it.</summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="verbose">Add the stack trace.</param>
    /// <param name="error">Standard error.</param>
    public static int Report(Exception exception, bool verbose, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        (int code, string message) = exception switch
        {
            TrainingDivergedException => (ExitCodes.Diverged, $"training stopped: {exception.Message}"),
            InputError or InvalidDataException or CheckpointException or FileNotFoundException or DirectoryNotFoundException
                or UnauthorizedAccessException or PathTooLongException => (ExitCodes.BadInput, OneLine(exception)),
            ArgumentException argument => (ExitCodes.BadInput, OneLine(argument)),
            IOException => (ExitCodes.BadInput, OneLine(exception)),
            OperationCanceledException => (ExitCodes.Interrupted, "stopped."),
            ExternalException when IsOutOfMemory(exception) =>
                (ExitCodes.BadInput, $"out of memory: {OneLine(exception)} (use a smaller batch or model)"),
            // Any other libtorch error is a bug of this program or of libtorch, never something to retry silently.
            ExternalException => (ExitCodes.InternalError, $"libtorch failed (a bug; please report it): {OneLine(exception)}"),
            _ => (ExitCodes.InternalError, $"internal error (a bug; please report it with the lines below): {exception.GetType().Name}: {OneLine(exception)}"),
        };
        error.WriteLine($"lmconv: {message}");
        if (verbose || (code == ExitCodes.InternalError && exception is not ExternalException)) error.WriteLine(exception.ToString());
        else if (exception is ExternalException) error.WriteLine("lmconv: run with --verbose for libtorch's full message.");
        return code;
    }

    private static bool IsOutOfMemory(Exception exception) =>
        exception.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || exception.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// An exception's message as one line: the first line only (libtorch appends C++ frames), without the
    /// " (Parameter 'x')" suffix of argument exceptions.
    /// </summary>
    /// <param name="exception">The exception.</param>
    public static string OneLine(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.Message;
        int newline = message.IndexOfAny(new[] { '\r', '\n' });
        if (newline >= 0) message = message[..newline];
        if (exception is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return message.Trim();
    }

    private static string ParseErrorMessage(ParseResult result)
    {
        var messages = result.Errors.Select(Describe).Distinct().ToList();
        // A misspelt command gives "Required command was not provided." and "Unrecognized command or argument 'x'.":
        // the second one says what is wrong.
        var unrecognized = messages.Where(m => m.StartsWith("Unrecognized", StringComparison.Ordinal)).ToList();
        if (unrecognized.Count > 0) messages = unrecognized;
        return string.Join(" ", messages.Take(3));
    }

    /// <summary>A parse error on one line, naming its option when the parser's message does not.</summary>
    private static string Describe(System.CommandLine.Parsing.ParseError error)
    {
        string message = string.Join(" ", error.Message.Split(new[] { '\r', '\n', '\t' }, StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()));
        var option = error.SymbolResult switch
        {
            System.CommandLine.Parsing.OptionResult o => o.Option,
            System.CommandLine.Parsing.ArgumentResult { Parent: System.CommandLine.Parsing.OptionResult o } => o.Option,
            _ => null,
        };
        return option is not null && !message.Contains(option.Name, StringComparison.Ordinal) ? $"{option.Name}: {message}" : message;
    }

    private static string CommandPath(ParseResult result)
    {
        var names = new List<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
            if (command.Command is not RootCommand) names.Insert(0, command.Command.Name);
        return names.Count == 0 ? "" : " " + string.Join(" ", names);
    }
}
