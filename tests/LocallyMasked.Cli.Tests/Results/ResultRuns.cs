using System.Globalization;

namespace LocallyMasked.Cli.Tests.Results;

/// <summary>What the tests of the results read from the program's outputs.</summary>
internal static class ResultRuns
{
    /// <summary>Fails unless the run ended with exactly one line on standard error naming <paramref name="named"/>, and the exit code.</summary>
    public static void FailsInOneLine(Lmconv.Result run, int code, params string[] named)
    {
        run.ErrLines.Should().ContainSingle($"one line is expected on standard error, got:\n{run.Err}");
        string line = run.ErrLines[0];
        line.Should().StartWith("lmconv: ");
        foreach (var name in named) line.Should().Contain(name);
        line.Should().NotContainAny("Exception", "   at ", "please report");
        run.Code.Should().Be(code, line);
    }

    /// <summary>The rows of the printed table: (first cell, nats per image).</summary>
    public static (string Name, string Nats)[] TableRows(string output) =>
        output.Split('\n').Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .Where(cells => cells.Length >= 4 && double.TryParse(cells[2], CultureInfo.InvariantCulture, out _))
            .Select(cells => (cells[1], cells[2])).ToArray();

    /// <summary>A CSV file's header and rows (the program quotes no cell of these tests).</summary>
    public static (string[] Header, string[][] Rows) Csv(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToArray());
    }

    /// <summary>A cell as a double, read back exactly.</summary>
    public static double Number(string cell) => double.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture);
}
