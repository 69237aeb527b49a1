namespace LocallyMasked.Cli.Tests.Hostile;

/// <summary>
/// The program's hostile-input suite: tables of cases, one per family (folders, images, sizes, options, names, faults),
/// each run as a child process by <see cref="ProgramCaseRunner"/>: it must end within seconds, under a memory bound, with
/// the expected exit code and a one-line message that names the option or file, and leave nothing behind. To add a
/// case, add a row to the family's table; <see cref="HostileFiles"/> makes hostile files of any claimed size from a few
/// bytes.
/// </summary>
public sealed partial class HostileProgramSuite
{
    /// <summary>Arguments of a tiny training run on the folder <paramref name="data"/>, writing into out/ (about a second); an option in <paramref name="more"/> replaces the tiny run's value.</summary>
    private static string[] TrainOn(string data, params string[] more) => TrainTiny(new[] { "--data", data, "--train-images", "0" }.Concat(more).ToArray());

    /// <summary>A tiny training run on the embedded digits, writing into out/; an option in <paramref name="more"/> replaces the tiny run's value.</summary>
    private static string[] TrainTiny(params string[] more)
    {
        var tiny = new[] { "--steps", "1", "--filters", "4", "--orders", "1", "--batch-size", "2", "--train-images", "16", "--eval-every", "0",
            "--final-eval-images", "2", "--samples", "0", "--output", "out" };
        var args = new List<string> { "train" };
        for (int i = 0; i < tiny.Length; i += 2)
            if (!more.Contains(tiny[i])) args.AddRange(new[] { tiny[i], tiny[i + 1] });
        args.AddRange(more);
        return args.ToArray();
    }

    private static readonly Lazy<IReadOnlyDictionary<string, ProgramCase>> Table = new(() =>
        FoldersTable().Concat(ImagesTable()).Concat(SizesTable()).Concat(OptionsTable()).Concat(NamesTable()).Concat(FaultsTable())
            .ToDictionary(c => c.Name));

    private static TheoryData<string> NamesOf(IEnumerable<ProgramCase> cases)
    {
        var data = new TheoryData<string>();
        foreach (var c in cases) data.Add(c.Name);
        return data;
    }

    public static TheoryData<string> Folders => NamesOf(FoldersTable());

    public static TheoryData<string> Images => NamesOf(ImagesTable());

    public static TheoryData<string> Sizes => NamesOf(SizesTable());

    public static TheoryData<string> Options => NamesOf(OptionsTable());

    public static TheoryData<string> Names => NamesOf(NamesTable());

    public static TheoryData<string> Faults => NamesOf(FaultsTable());

    [Theory]
    [MemberData(nameof(Folders))]
    public void FolderCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);

    [Theory]
    [MemberData(nameof(Images))]
    public void ImageCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SizeCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);

    [Theory]
    [MemberData(nameof(Options))]
    public void OptionCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);

    [Theory]
    [MemberData(nameof(Names))]
    public void NameCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);

    [Theory]
    [MemberData(nameof(Faults))]
    public void FaultCases(string name) => ProgramCaseRunner.Run(Table.Value[name]);
}
