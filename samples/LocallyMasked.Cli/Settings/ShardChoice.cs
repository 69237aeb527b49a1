using System.Globalization;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Cli.Settings;

/// <summary>
/// <c>--shard</c>: which part of a command's images this process takes, for a job array of independent processes: part
/// I of N (counted from 0, as Kubernetes' completion index), or <c>auto</c>, taken from the scheduler's environment when
/// the command runs (<see cref="Resolve"/>): Slurm's <c>SLURM_ARRAY_TASK_ID</c> (N from <c>SLURM_ARRAY_TASK_COUNT</c>, or
/// <c>auto/N</c>) or Kubernetes' <c>JOB_COMPLETION_INDEX</c> (N from <c>auto/N</c>).
/// </summary>
public sealed record ShardChoice
{
    /// <summary>What --shard accepts, for messages.</summary>
    public const string Accepted = "I/N (part I, counted from 0, of N: 0/2 and 1/2), auto or auto/N";

    /// <summary>No --shard: the whole work.</summary>
    public static ShardChoice Whole { get; } = new() { Fixed = Shard.Whole };

    /// <summary>The part given as I/N; null for auto.</summary>
    public Shard? Fixed { get; init; }

    /// <summary>With auto: the N of auto/N, or null.</summary>
    public int? AutoCount { get; init; }

    /// <summary>Whether --shard was given (anything but the whole work).</summary>
    public bool Given => Fixed is not { IsWhole: true };

    /// <summary>The choice a --shard value makes, or null with the reason (the parser reports it: exit code 2).</summary>
    /// <param name="text">The value.</param>
    /// <param name="error">Why it is not accepted, or null.</param>
    public static ShardChoice? TryParse(string? text, out string? error)
    {
        string value = (text ?? string.Empty).Trim();
        if (value == "auto")
        {
            error = null;
            return new ShardChoice();
        }
        if (value.StartsWith("auto/", StringComparison.Ordinal))
        {
            if (int.TryParse(value["auto/".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count >= 1)
            {
                error = null;
                return new ShardChoice { AutoCount = count };
            }
            error = $"expected auto/N with N, the number of parts, at least 1 ({Accepted})";
            return null;
        }
        var shard = Shard.TryParse(value, out error);
        if (shard is null)
        {
            if (error is not null && error.StartsWith("expected", StringComparison.Ordinal)) error = $"expected {Accepted}";
            return null;
        }
        return new ShardChoice { Fixed = shard };
    }

    /// <summary>
    /// The part this process takes: the fixed one, or with auto the one that a job array's environment gives.
    /// </summary>
    /// <param name="variable">An environment variable's value, null when not set (<see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    /// <exception cref="InputError">auto without a job array's variables, a variable that is not a whole number, a count that
    /// contradicts auto/N, or an index outside the count.</exception>
    public Shard Resolve(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (Fixed is { } shard) return shard;
        string typed = AutoCount is { } n ? $"auto/{n}" : "auto";
        int? Read(string name, int minimum)
        {
            string? text = variable(name);
            if (string.IsNullOrWhiteSpace(text)) return null;
            return int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= minimum
                ? value
                : throw new InputError($"--shard {typed}: the environment variable {name} is '{text}', expected a whole number from {minimum}.");
        }

        int index, count;
        if (Read("SLURM_ARRAY_TASK_ID", 0) is { } task)
        {
            // An array such as --array=1-8 or 0-14:2 numbers its tasks from MIN in steps of STEP.
            int min = Read("SLURM_ARRAY_TASK_MIN", 0) ?? 0, step = Read("SLURM_ARRAY_TASK_STEP", 1) ?? 1;
            if (task < min || (task - min) % step != 0)
                throw new InputError($"--shard {typed}: SLURM_ARRAY_TASK_ID {task} is not a task of the array from {min} in steps of {step}.");
            index = (task - min) / step;
            int? slurmCount = Read("SLURM_ARRAY_TASK_COUNT", 1);
            if (AutoCount is { } given && slurmCount is { } tasks && given != tasks)
                throw new InputError($"--shard {typed}: the Slurm array has {tasks} tasks (SLURM_ARRAY_TASK_COUNT), not {given}; give --shard auto, or auto/{tasks}.");
            count = AutoCount ?? slurmCount
                ?? throw new InputError($"--shard {typed}: SLURM_ARRAY_TASK_COUNT is not set; give --shard auto/N with N the array's number of tasks.");
            if (index >= count)
                throw new InputError($"--shard {typed}: SLURM_ARRAY_TASK_ID {task} is task {index} (from 0) of an array of {count}; the array must be {min}-{min + (count - 1) * step}{(step > 1 ? $":{step}" : "")}.");
            return new Shard(index, count);
        }
        if (Read("JOB_COMPLETION_INDEX", 0) is { } completion)
        {
            count = AutoCount
                ?? throw new InputError($"--shard {typed}: Kubernetes' JOB_COMPLETION_INDEX ({completion}) gives the part but not the number of parts; give --shard auto/N with N the Job's completions.");
            if (completion >= count)
                throw new InputError($"--shard {typed}: JOB_COMPLETION_INDEX {completion} is outside 0 to {count - 1}; N must be the Job's completions.");
            return new Shard(completion, count);
        }
        throw new InputError(
            $"--shard {typed}: neither SLURM_ARRAY_TASK_ID (a Slurm job array, sbatch --array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard I/N.");
    }
}
