namespace LocallyMasked.Cli.Tests.Hostile;

public sealed partial class HostileProgramSuite
{
    /// <summary>
    /// Images whose headers claim more pixels than --max-image-pixels allows are refused from the header, before anything
    /// is decoded, naming the file, its size and the option; the option raises the limit.
    /// </summary>
    private static IEnumerable<ProgramCase> ImagesTable() => new ProgramCase[]
    {
        new("a 70-byte PNG that claims 30000x30000 is refused from its header", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.PngClaiming(Path.Combine(dir, "data", "claims.png"), 30000, 30000);
            return new ProgramRun(TrainOn("data"));
        }, 1, "claims.png|30000x30000|--max-image-pixels"),
        new("the same header is refused with --size and --channels given (no first image is probed)", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.PngClaiming(Path.Combine(dir, "data", "zz.png"), 30000, 30000);
            return new ProgramRun(TrainOn("data", "--size", "8x8", "--channels", "1"));
        }, 1, "zz.png|--max-image-pixels"),
        new("two PNG bombs of 12000x12000 zero pixels (150 KB each, 576 MB decoded) are refused before decoding", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.PngOfZeros(Path.Combine(dir, "data", "bomb1.png"), 12000, 12000);
            HostileFiles.PngOfZeros(Path.Combine(dir, "data", "bomb2.png"), 12000, 12000);
            return new ProgramRun(TrainOn("data", "--size", "8x8"));
        }, 1, "bomb1.png|12000x12000|--max-image-pixels"),
        new("a PNG header of 2^31-1 x 2^31-1, which the decoder does not take, is skipped and named", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.PngClaiming(Path.Combine(dir, "data", "huge.png"), int.MaxValue, int.MaxValue);
            return new ProgramRun(TrainOn("data", "--size", "8x8")) { Leaves = new[] { "out/" } };
        }, 0, "huge.png"),
        new("--max-image-pixels below an image's size refuses it", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.Png(Path.Combine(dir, "data", "big.png"), 40, 40);
            return new ProgramRun(TrainOn("data", "--size", "8x8", "--max-image-pixels", "1000"));
        }, 1, "big.png|40x40|--max-image-pixels 1000"),
        new("--max-image-pixels raised above it reads it", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 12);
            HostileFiles.Png(Path.Combine(dir, "data", "big.png"), 40, 40);
            return new ProgramRun(TrainOn("data", "--size", "8x8", "--max-image-pixels", "2000")) { Leaves = new[] { "out/" } };
        }, 0, "data: 12 training and 1 test images"),
        new("--max-image-pixels 0 is a parse error", dir => new ProgramRun(TrainOn("data", "--max-image-pixels", "0")), 2, "--max-image-pixels 0"),
        new("score refuses a header that claims 30000x30000 before decoding it", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 4, size: 28);
            HostileFiles.PngClaiming(Path.Combine(dir, "data", "claims.png"), 30000, 30000);
            return new ProgramRun("score", "--checkpoint", TinyCheckpoint(dir), "--data", "data");
        }, 1, "claims.png|30000x30000|--max-image-pixels"),
        new("complete --image refuses a header that claims 30000x30000 before decoding it", dir =>
        {
            HostileFiles.PngClaiming(Path.Combine(dir, "claims.png"), 30000, 30000);
            return new ProgramRun("complete", "--checkpoint", TinyCheckpoint(dir), "--image", "claims.png", "--output", "completed");
        }, 1, "--image claims.png is 30000x30000|--max-image-pixels"),
        new("score reads each image of a folder with a link loop once", dir =>
        {
            HostileFiles.Images(Path.Combine(dir, "data"), 4, size: 28);
            HostileFiles.Link(Path.Combine(dir, "data", "self"), ".");
            HostileFiles.Link(Path.Combine(dir, "data", "again"), ".");
            return new ProgramRun("score", "--checkpoint", TinyCheckpoint(dir), "--data", "data", "--orders", "1");
        }, 0, "mean over 4 images:"),
    };

    /// <summary>Trains the tiny model into out/ of the case's folder (before the case's own run) and returns its checkpoint.</summary>
    private static string TinyCheckpoint(string dir)
    {
        var outcome = ProgramCaseRunner.Start(new ProgramRun(TrainTiny()), dir);
        outcome.Code.Should().Be(0, outcome.Err);
        return Path.Combine("out", "model.ckpt");
    }
}
