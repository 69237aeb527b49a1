namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    /// <summary>
    /// Configurations that cannot fit in any machine's memory are refused before anything is allocated, in one line that
    /// gives the estimate and the memory available (each of these estimates is above 1 TB, so the outcome does not
    /// depend on the machine).
    /// </summary>
    private static IEnumerable<ProgramCase> SizesTable() => new ProgramCase[]
    {
        new("--mixtures 100000 with --filters 8 (the kernel killed it at 24 GB)", _ =>
            new ProgramRun(TrainTiny("--filters", "8", "--mixtures", "100000", "--batch-size", "2000", "--train-images", "0", "--dataset", "mnist")),
            1, "--batch-size|estimate|available|--no-memory-check"),
        new("--batch-size 8000 with 160 filters", _ => new ProgramRun(TrainTiny("--batch-size", "8000", "--filters", "160", "--train-images", "0")),
            1, "estimate|available|--no-memory-check"),
        new("100,000 residual blocks", _ => new ProgramRun(TrainTiny("--blocks", "100000")), 1, "estimate|--blocks|--no-memory-check"),
        new("a folder read at --size 4096x4096 with 160 filters", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 4);
            return new ProgramRun(TrainOn("data", "--size", "4096x4096", "--filters", "160"));
        }, 1, "estimate|--size|--no-memory-check"),
    };
}
