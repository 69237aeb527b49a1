namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    /// <summary>
    /// Option values out of range: a parse-level error (exit 2) naming the option and the value, before anything runs;
    /// extreme values that are in range run. The values came from fuzzing every option with 0, -1, NaN, 1e300, huge
    /// integers and empty strings (fuzz_options.py).
    /// </summary>
    private static IEnumerable<ProgramCase> OptionsTable() => new ProgramCase[]
    {
        new("--size 0x0", _ => new ProgramRun(TrainOn("data", "--size", "0x0")), 2, "--size 0x0"),
        new("--size with a side above 4096", _ => new ProgramRun(TrainOn("data", "--size", "99999x99999")), 2, "--size 99999x99999"),
        new("--channels 2", _ => new ProgramRun(TrainOn("data", "--channels", "2")), 2, "--channels 2"),
        new("--bits 0", _ => new ProgramRun(TrainTiny("--bits", "0")), 2, "--bits 0"),
        new("--test-fraction 0", _ => new ProgramRun(TrainOn("data", "--test-fraction", "0")), 2, "--test-fraction 0"),
        new("--test-fraction NaN", _ => new ProgramRun(TrainOn("data", "--test-fraction", "NaN")), 2, "--test-fraction NaN"),
        new("download --stall-seconds 0", _ => new ProgramRun("download", "mnist", "--to", "data", "--stall-seconds", "0"), 2, "--stall-seconds 0"),
        new("download --stall-seconds 1e300", _ => new ProgramRun("download", "mnist", "--to", "data", "--stall-seconds", "1e300"), 2, "--stall-seconds 1e300"),
        new("download --stall-seconds NaN", _ => new ProgramRun("download", "mnist", "--to", "data", "--stall-seconds", "NaN"), 2, "--stall-seconds NaN"),
        new("--minutes 1e300", _ => new ProgramRun(TrainTiny("--minutes", "1e300")), 2, "--minutes 1e300"),
        new("--minutes above 24.8 days (the longest single timer) trains", _ => new ProgramRun(TrainTiny("--minutes", "40000")) { Leaves = new[] { "out/" } },
            0, "trained 1 steps"),
        new("--threads 2147483647 (libgomp crashed)", _ => new ProgramRun(TrainTiny("--threads", "2147483647")), 2, "--threads 2147483647"),
        new("evaluate --batch-size 2147483647 (the count of batches wrapped round to none)", dir =>
            new ProgramRun("evaluate", "--checkpoint", TinyCheckpoint(dir), "--batch-size", "2147483647", "--images", "4"), 0, "test NLL on 4 images"),
        new("evaluate --threads 2147483647", _ => new ProgramRun("evaluate", "--checkpoint", "none.ckpt", "--threads", "2147483647"), 2, "--threads 2147483647"),
        new("--minutes above 49.7 days (the longest timer)", _ => new ProgramRun(TrainTiny("--minutes", "71583")), 2, "--minutes 71583"),
        new("--clip 1e300 (libtorch could not convert it to float)", _ => new ProgramRun(TrainTiny("--clip", "1e300")), 2, "--clip 1e300"),
        new("--data ' ' (blank) names the option", _ => new ProgramRun(TrainTiny("--data", " ")), 2, "--data"),
        new("--output '' (empty) names the option", _ => new ProgramRun(TrainTiny("--output", "")), 2, "--output"),
        new("--checkpoint '' (empty) names the option", _ => new ProgramRun(TrainTiny("--checkpoint", "")), 2, "--checkpoint"),
        new("a whole number that is not one says so without .NET type names", _ => new ProgramRun(TrainTiny("--filters", "NaN")), 2, "--filters|whole number"),
    };
}
