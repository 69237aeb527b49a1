using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using LocallyMasked.Checkpoints;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Commands;
using LocallyMasked.Training;
using LocallyMasked.Training.Distributed;

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

    /// <summary>The program's commands: train, evaluate, sample, complete, orders, download, score and merge.</summary>
    /// <param name="terminal">Where the commands write.</param>
    public static IReadOnlyList<IProgramCommand> CreateCommands(Terminal terminal)
    {
        var shared = new SharedOptions();
        return new IProgramCommand[]
        {
            TrainCommand.Create(shared, terminal),
            EvaluateCommand.Create(shared, terminal),
            SampleCommand.Create(shared, terminal),
            CompleteCommand.Create(shared, terminal),
            OrdersCommand.Create(terminal),
            DownloadCommand.Create(terminal),
            ScoreCommand.Create(shared, terminal),
            MergeCommand.Create(terminal),
        };
    }

    /// <summary>Builds the root command with the program's commands.</summary>
    /// <param name="terminal">Where the commands write.</param>
    public static RootCommand CreateRootCommand(Terminal terminal) => Root(CreateCommands(terminal));

    /// <summary>
    /// The typed settings a command line runs with, built as running it would build them, without running it: a
    /// <c>TrainSettings</c> for <c>train ...</c>, and so on.
    /// </summary>
    /// <param name="args">The arguments.</param>
    /// <exception cref="UsageError">The command line does not parse (the message is the program's usage line).</exception>
    /// <exception cref="InputError">A value the parser accepts but the command cannot use (named).</exception>
    public static object Settings(params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var commands = CreateCommands(new Terminal(TextWriter.Null, TextWriter.Null, interactive: false));
        var result = Root(commands).Parse(args);
        if (result.Errors.Count > 0) throw new UsageError(ParseErrors.Describe(result));
        var command = commands.FirstOrDefault(c => c.Command == result.CommandResult.Command)
            ?? throw new UsageError($"no command given; expected one of {string.Join(", ", commands.Select(c => c.Command.Name))}.");
        return command.Bind(result);
    }

    /// <summary>As <see cref="Settings(string[])"/>, typed.</summary>
    /// <typeparam name="TSettings">The command's settings type.</typeparam>
    /// <param name="args">The arguments.</param>
    public static TSettings Settings<TSettings>(params string[] args) => (TSettings)Settings(args);

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
        var result = CreateRootCommand(terminal).Parse(args);
        if (result.Action is ParseErrorAction) return Report(new UsageError(ParseErrors.Describe(result)), verbose: false, error);
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

    private static RootCommand Root(IEnumerable<IProgramCommand> commands)
    {
        var root = new RootCommand("Locally masked PixelCNN: train, evaluate, score, sample, complete, merge evaluation parts, and draw orders.");
        foreach (var command in commands) root.Subcommands.Add(command.Command);
        root.Options.Add(Verbose);
        OptionRules.NoBlankValues(root);
        return root;
    }

    /// <summary>Prints an exception as the program's error line and returns the exit code for it.</summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="verbose">Add the stack trace.</param>
    /// <param name="error">Standard error.</param>
    public static int Report(Exception exception, bool verbose, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        // Work in parallel (Parallel.For, tasks) wraps what failed: the first failure is what to report.
        while (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate) exception = aggregate.InnerExceptions[0];
        (int code, string message) = exception switch
        {
            UsageError => (ExitCodes.Usage, OneLineText.Escape(exception.Message)),
            StoppedBySignalException stopped => (stopped.ExitCode, OneLine(stopped)),
            Data.ImageTooLargeException => (ExitCodes.BadInput, OneLine(exception)),
            // MPI asked for but unusable, ranks started differently, a rank that stopped or hangs: one line each.
            MpiUnavailableException or SettingsMismatchException or MpiException => (ExitCodes.BadInput, OneLine(exception)),
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
    /// An exception's message as one line: libtorch's first line only (it appends C++ frames), other messages whole with
    /// their control characters escaped (<see cref="OneLineText"/>: a file name with a newline stays on the line), without
    /// the " (Parameter 'x')" suffix of argument exceptions.
    /// </summary>
    /// <param name="exception">The exception.</param>
    public static string OneLine(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.Message;
        if (exception is ExternalException)
        {
            int newline = message.IndexOfAny(new[] { '\r', '\n' });
            if (newline >= 0) message = message[..newline];
        }
        if (exception is ArgumentException { ParamName: { } name })
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }
        return OneLineText.Escape(message.Trim());
    }
}
