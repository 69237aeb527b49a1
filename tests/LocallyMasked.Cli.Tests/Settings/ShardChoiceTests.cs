using LocallyMasked.Cli.Settings;
using LocallyMasked.Training.Distributed;

namespace LocallyMasked.Cli.Tests.Settings;

/// <summary><c>--shard auto</c>: the part from a Slurm job array's or a Kubernetes Indexed Job's environment.</summary>
public sealed class ShardChoiceTests
{
    private static Shard Resolve(string option, params (string Name, string Value)[] environment)
    {
        var variables = environment.ToDictionary(e => e.Name, e => e.Value);
        return ShardChoice.TryParse(option, out _)!.Resolve(name => variables.GetValueOrDefault(name));
    }

    private static void Refused(string option, string why, params (string, string)[] environment) =>
        FluentActions.Invoking(() => Resolve(option, environment)).Should().Throw<InputError>().WithMessage($"--shard {option}: *{why}*");

    [Fact]
    public void Slurm_arrays_give_the_part_and_the_count()
    {
        Resolve("auto", ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4")).Should().Be(new Shard(3, 4));
        // --array=1-4: tasks counted from the first.
        Resolve("auto", ("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "4")).Should().Be(new Shard(0, 4));
        // --array=0-14:2
        Resolve("auto", ("SLURM_ARRAY_TASK_ID", "10"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_STEP", "2"), ("SLURM_ARRAY_TASK_COUNT", "8"))
            .Should().Be(new Shard(5, 8));
        Resolve("auto/4", ("SLURM_ARRAY_TASK_ID", "2")).Should().Be(new Shard(2, 4));
    }

    [Fact]
    public void Kubernetes_indexed_jobs_give_the_part_and_auto_N_the_count()
    {
        Resolve("auto/3", ("JOB_COMPLETION_INDEX", "2")).Should().Be(new Shard(2, 3));
        Refused("auto", "auto/N", ("JOB_COMPLETION_INDEX", "2"));
        Refused("auto/2", "outside 0 to 1", ("JOB_COMPLETION_INDEX", "2"));
    }

    [Fact]
    public void An_environment_that_does_not_say_which_part_is_one_line()
    {
        Refused("auto", "neither SLURM_ARRAY_TASK_ID");
        Refused("auto", "SLURM_ARRAY_TASK_COUNT is not set", ("SLURM_ARRAY_TASK_ID", "0"));
        Refused("auto/3", "has 4 tasks", ("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4"));
        Refused("auto", "'x'", ("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4"));
        Refused("auto", "not a task of the array", ("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_STEP", "2"), ("SLURM_ARRAY_TASK_COUNT", "4"));
    }

    [Fact]
    public void A_fixed_part_ignores_the_environment()
    {
        Resolve("1/2", ("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4")).Should().Be(new Shard(1, 2));
        ShardChoice.Whole.Given.Should().BeFalse();
        ShardChoice.TryParse("0/1", out _)!.Given.Should().BeFalse("one part is the whole work");
        ShardChoice.TryParse("auto", out _)!.Given.Should().BeTrue();
    }
}
