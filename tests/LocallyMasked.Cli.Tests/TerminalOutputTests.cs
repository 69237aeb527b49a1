using LocallyMasked.Checkpoints;
using LocallyMasked.Models;

namespace LocallyMasked.Cli.Tests;

/// <summary>
/// Everything a command prints goes through the terminal it is given (so that a future <c>--json -</c> can keep standard
/// output clean): nothing reaches the process's console behind it.
/// </summary>
public sealed class TerminalOutputTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("lm-cli-terminal-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Model_notes_order_notes_and_warnings_reach_the_terminal_and_not_the_console()
    {
        string weights = Path.Combine(dir, "authors.pth");
        using (var model = new LocallyMaskedPixelCnn(PixelCnnConfig.BinarizedMnist with { Filters = 4, ResidualBlocks = 1 }))
            PixelCnnCheckpoint.SavePyTorch(model, weights);
        for (int i = 0; i < 3; i++) ImageFiles.GreyPng(Path.Combine(dir, "pictures", $"{i}.png"), 8, 8, (x, y) => (byte)(x * 30 + y + i));
        File.WriteAllText(Path.Combine(dir, "pictures", "broken.png"), "not an image");

        var (console, consoleErrors) = (new StringWriter(), new StringWriter());
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(console);
        Console.SetError(consoleErrors);
        Lmconv.Result evaluate, orders, train;
        try
        {
            evaluate = Lmconv.Run("evaluate", "--checkpoint", weights, "--images", "2", "--orders", "1");
            orders = Lmconv.Run("orders", "--order", "hilbert", "--height", "6", "--width", "6", "--orders", "1", "--output", dir);
            train = Lmconv.Run("train", "--data", Path.Combine(dir, "pictures"), "--test-fraction", "0.4", "--steps", "1", "--batch-size", "1",
                "--filters", "2", "--orders", "1", "--eval-every", "0", "--samples", "0", "--output", Path.Combine(dir, "run"));
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }

        evaluate.Code.Should().Be(0, evaluate.Err);
        evaluate.Out.Should().Contain("model: ").And.Contain("assumed (not recorded in authors.pth").And.Contain("test NLL");
        orders.Code.Should().Be(0, orders.Err);
        orders.Out.Should().Contain("order: hilbert is defined on square images whose side is a power of two");
        train.Code.Should().Be(0, train.Err);
        train.Err.Should().Contain("lmconv: warning: ").And.Contain("broken.png");
        console.ToString().Should().BeEmpty("the commands print through their terminal only");
        consoleErrors.ToString().Should().BeEmpty("warnings go through the terminal too");
    }
}
