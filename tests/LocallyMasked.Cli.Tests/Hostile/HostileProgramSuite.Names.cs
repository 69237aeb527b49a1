namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    /// <summary>
    /// Names with control characters are shown escaped (a newline as \n), so that the message stays on one line and whole.
    /// </summary>
    private static IEnumerable<ProgramCase> NamesTable() => new ProgramCase[]
    {
        new("a --checkpoint whose name holds a newline is named whole on one line", _ =>
            new ProgramRun("evaluate", "--checkpoint", "no\nsuch.ckpt"), 1, @"no\nsuch.ckpt"),
        new("a --data folder whose name holds a newline", _ => new ProgramRun(TrainTiny("--data", "no\nsuch")), 1, @"no\nsuch"),
        new("evaluate names a missing --data folder, escaped, before loading the model", dir =>
            new ProgramRun("evaluate", "--checkpoint", TinyCheckpoint(dir), "--data", "no\u0001such"), 1, @"--data no\x01such: folder not found"),
        new("an undecodable image whose name holds a newline is named on one line", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            File.WriteAllText(Path.Combine(dir, "data", "bad\nname.png"), "not an image");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, @"bad\nname.png"),
        new("an escape sequence in a name is not sent to the terminal", _ => new ProgramRun("evaluate", "--checkpoint", "x\u001b[2Jy.ckpt"), 1, @"x\e[2Jy.ckpt"),
    };
}
