namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    /// <summary>
    /// Folders of images with links: each real file is read once, whatever links lead to it, and a loop ends at once; 12
    /// images give 11 training and 1 test image (--test-fraction 0.1) however they are linked.
    /// </summary>
    private static IEnumerable<ProgramCase> FoldersTable() => new ProgramCase[]
    {
        new("a link to its own folder adds no image (it turned 12 images into 492, the same in both splits)", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.Link(Path.Combine(dir, "data", "self"), ".");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "data: 11 training and 1 test images|1 link"),
        new("two links to the folder (a loop that doubles at every level) end at once", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.Link(Path.Combine(dir, "data", "a"), ".");
            HostileFiles.Link(Path.Combine(dir, "data", "b"), ".");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "data: 11 training and 1 test images|2 links"),
        new("a loop through a subfolder's link to its parent", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data", "sub"), 12);
            HostileFiles.Link(Path.Combine(dir, "data", "sub", "up"), "..");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "data: 11 training and 1 test images"),
        new("a file linked under a second name counts once", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.Link(Path.Combine(dir, "data", "copy.png"), "img01.png");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "data: 11 training and 1 test images|1 link"),
        new("images reached only through a link to a folder elsewhere are read", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "elsewhere"), 12);
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            HostileFiles.Link(Path.Combine(dir, "data", "pictures"), "../elsewhere");
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "data: 11 training and 1 test images"),
        new("a file that vanished (a dangling link) is skipped and named", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 13);
            HostileFiles.Link(Path.Combine(dir, "data", "gone.png"), "deleted.png");
            return new ProgramRun(TrainOn("data", "--size", "8x8", "--channels", "1")) { Leaves = new[] { "out/" } };
        }, 0, "gone.png"),
        new("a name that is not valid UTF-8 is skipped and named", dir =>
        {
            string data = HostileFiles.Images(Path.Combine(dir, "data"), 13);
            HostileFiles.CopyToRawName(Path.Combine(data, "img01.png"), data, new byte[] { (byte)'b', (byte)'a', (byte)'d', 0xFF, 0xFE, (byte)'.', (byte)'p', (byte)'n', (byte)'g' });
            return new ProgramRun(TrainOn("data", "--size", "8x8", "--channels", "1")) { Leaves = new[] { "out/" } };
        }, 0, "not valid UTF-8"),
        new("a name that is not valid UTF-8 is skipped without --size too", dir =>
        {
            string data = HostileFiles.Images(Path.Combine(dir, "data"), 13);
            HostileFiles.CopyToRawName(Path.Combine(data, "img01.png"), data, new byte[] { (byte)'a', 0xFF, (byte)'.', (byte)'p', (byte)'n', (byte)'g' });
            return new ProgramRun(TrainOn("data")) { Leaves = new[] { "out/" } };
        }, 0, "not valid UTF-8"),
        new("a folder whose only images are behind a loop is refused in one line", dir =>
        {
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            HostileFiles.Link(Path.Combine(dir, "data", "a"), ".");
            HostileFiles.Link(Path.Combine(dir, "data", "b"), ".");
            return new ProgramRun(TrainOn("data", "--dataset", "images"));
        }, 1, "--data data"),
    };
}
