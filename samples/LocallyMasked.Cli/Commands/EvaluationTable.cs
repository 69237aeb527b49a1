using LocallyMasked.Models;
using LocallyMasked.Orders;
using LocallyMasked.Training;
using LocallyMasked.Training.Data;
using LocallyMasked.Training.Distributed;
using LocallyMasked.Training.Evaluation;
using Spectre.Console;

namespace LocallyMasked.Cli.Commands;

/// <summary>
/// Test likelihoods as <c>evaluate</c> and <c>train</c> show them: computed by the training package's
/// <see cref="LikelihoodEvaluation"/> with a progress line, printed as a table (per order and for the ensemble) and,
/// for a region, as one line.
/// </summary>
public static class EvaluationTable
{
    /// <summary>Evaluates with a progress indicator (plain lines with the time left when the output is redirected).</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="model">The model.</param>
    /// <param name="test">The test images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="count">How many images (at most the test set's size).</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    /// <param name="computeWith">How each batch is computed (a trainer's <c>OnWorkers</c>), or null: on this thread.</param>
    public static EvaluationReport Evaluate(Terminal terminal, IAutoregressiveImageModel model, ImageDataset test, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, int count, int batchSize, Func<PerOrderLogLikelihoods, PerOrderLogLikelihoods>? computeWith = null) =>
        Evaluate(terminal, model, test, encoding, orders, ImageRange.All(count), batchSize, computeWith);

    /// <summary>Evaluates a range of the images (a part of an evaluation) with a progress indicator.</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="model">The model.</param>
    /// <param name="test">The test images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="range">Which images (at least one).</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    /// <param name="computeWith">How each batch is computed (a trainer's <c>OnWorkers</c>), or null: on this thread.</param>
    public static EvaluationReport Evaluate(Terminal terminal, IAutoregressiveImageModel model, ImageDataset test, InputEncoding encoding,
        IReadOnlyList<GenerationOrder> orders, ImageRange range, int batchSize, Func<PerOrderLogLikelihoods, PerOrderLogLikelihoods>? computeWith = null)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(range);
        return terminal.WithProgress($"evaluating {orders.Count} orders", range.Count, line =>
            LikelihoodEvaluation.Evaluate(model, test, encoding, orders, range, batchSize, new ProgressForwarder(line), computeWith));
    }

    /// <summary>
    /// Prints a report as a table, in nats per image and, for 8-bit data, bits per dimension: a row per order and one for
    /// their ensemble; with one order (a pixelcnn++ model's raster order), its row only.
    /// </summary>
    /// <param name="terminal">Where to print.</param>
    /// <param name="report">The report.</param>
    /// <param name="bitsPerDimension">Whether to add bits per dimension.</param>
    /// <param name="orderNames">The orders' names, or null for their variant numbers (0 (Identity), 1 (ReflectRows), ...).</param>
    public static void Print(Terminal terminal, EvaluationReport report, bool bitsPerDimension, IReadOnlyList<string>? orderNames = null)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(report);
        var table = new Table().AddColumn("order").AddColumn(new TableColumn("nats per image").RightAligned());
        if (bitsPerDimension) table.AddColumn(new TableColumn("bits per dim").RightAligned());
        table.Title = new TableTitle($"test NLL on {report.Images} images");
        void Row(string name, double nats)
        {
            var cells = new List<string> { name, $"{nats:F3}" };
            if (bitsPerDimension) cells.Add($"{report.BitsPerDimension(nats):F4}");
            table.AddRow(cells.Select(c => new Text(c)).ToArray());
        }
        for (int i = 0; i < report.PerOrder.Count; i++)
            Row(orderNames is not null && i < orderNames.Count ? orderNames[i] : $"{i} ({(OrderSymmetry)i})", report.PerOrder[i]);
        if (report.PerOrder.Count > 1) Row($"ensemble of {report.PerOrder.Count}", report.Ensemble);
        terminal.Write(table);
    }

    /// <summary>The test likelihood of a region given what the model conditions it on, with a progress indicator.</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="name">The region as typed, for the progress line.</param>
    /// <param name="model">The model.</param>
    /// <param name="test">The test images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="region">The region.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="count">How many images.</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    public static RegionEvaluationReport EvaluateRegion(Terminal terminal, string name, IAutoregressiveImageModel model, ImageDataset test,
        InputEncoding encoding, ImageRegion region, IReadOnlyList<GenerationOrder> orders, int count, int batchSize) =>
        EvaluateRegion(terminal, name, model, test, encoding, region, orders, ImageRange.All(count), batchSize);

    /// <summary>The region's likelihood on a range of the images (a part of an evaluation), with a progress indicator.</summary>
    /// <param name="terminal">Where progress goes.</param>
    /// <param name="name">The region as typed, for the progress line.</param>
    /// <param name="model">The model.</param>
    /// <param name="test">The test images.</param>
    /// <param name="encoding">How bytes become inputs.</param>
    /// <param name="region">The region.</param>
    /// <param name="orders">The orders.</param>
    /// <param name="range">Which images (at least one).</param>
    /// <param name="batchSize">Image x order pairs per pass.</param>
    public static RegionEvaluationReport EvaluateRegion(Terminal terminal, string name, IAutoregressiveImageModel model, ImageDataset test,
        InputEncoding encoding, ImageRegion region, IReadOnlyList<GenerationOrder> orders, ImageRange range, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(range);
        return terminal.WithProgress($"region {name}", range.Count, line =>
            LikelihoodEvaluation.EvaluateRegion(model, test, encoding, region, orders, range, batchSize, new ProgressForwarder(line)));
    }

    /// <summary>Prints a region's likelihood in one line that says what the region was conditioned on.</summary>
    /// <param name="terminal">Where to print.</param>
    /// <param name="report">The report.</param>
    /// <param name="name">The region as typed.</param>
    /// <param name="modelName">The model's name (lmconv, pixelcnn++).</param>
    public static void PrintRegion(Terminal terminal, RegionEvaluationReport report, string name, string modelName)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        ArgumentNullException.ThrowIfNull(report);
        terminal.Line(report.RegionLast
            ? $"region {name} ({report.Pixels} pixels) given the rest, ensemble of {report.Orders}: {report.Nats:F3} nats per image"
            // A raster-only model cannot generate the region last: each region pixel sees only the pixels before it in raster order.
            : $"region {name} ({report.Pixels} pixels) given the pixels before it in raster order (a {modelName} model "
              + $"cannot condition on the pixels after it): {report.Nats:F3} nats per image");
    }

    /// <summary>Forwards image counts to a progress line, synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class ProgressForwarder(Terminal.ProgressLine line) : IProgress<int>
    {
        public void Report(int value) => line.Report(value);
    }
}
