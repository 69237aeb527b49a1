using System.CommandLine;
using LocallyMasked.Cli.CommandLine;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Cli.Settings;
using LocallyMasked.Masks;
using LocallyMasked.Training.Pictures;

namespace LocallyMasked.Cli.Commands;

/// <summary>The `orders` command: draws an order's symmetric variants (paths and masks) as PNG files.</summary>
public static class OrdersCommand
{
    /// <summary>The largest image side the command draws (the mask pictures grow with its square).</summary>
    public const int MaxSide = 256;

    /// <summary>Builds the command.</summary>
    /// <param name="terminal">Where the command writes.</param>
    public static ProgramCommand<OrdersSettings> Create(Terminal terminal)
    {
        var order = new Option<string>("--order") { Description = OrderNames.Description, DefaultValueFactory = _ => OrderChoice.DefaultName };
        order.AcceptOnlyFromAmong(OrderNames.All.ToArray());
        var height = new Option<int>("--height") { Description = "Image height.", DefaultValueFactory = _ => 28 }.Between(1, MaxSide);
        var width = new Option<int>("--width") { Description = "Image width.", DefaultValueFactory = _ => 28 }.Between(1, MaxSide);
        var count = new Option<int>("--orders") { Description = "How many symmetric variants (1-8).", DefaultValueFactory = _ => OrderChoice.MaxCount }
            .Between(1, OrderChoice.MaxCount);
        var output = new Option<string>("--output", "-o") { Description = "Output folder.", DefaultValueFactory = _ => "out/orders" };
        var command = new Command("orders", "Draw generation orders (the path, last pixel marked) and their local masks as PNG files.")
        {
            order, height, width, count, output,
        };
        return new ProgramCommand<OrdersSettings>(command, result => new OrdersSettings
        {
            Orders = new OrderChoice(result.GetValue(order)!, result.GetValue(count), result.Given(order), result.Given(count)),
            Height = result.GetValue(height),
            Width = result.GetValue(width),
            Output = result.GetValue(output)!,
        }, Run, terminal);
    }

    /// <summary>Draws each variant's path and its type-B masks (3x3 kernel) as PNG files named after the order.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="terminal">Where the command writes.</param>
    public static int Run(OrdersSettings settings, Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        Checks.WritableFolder(settings.Output, "--output");
        var variants = settings.Orders.Variants(settings.Height, settings.Width, terminal);
        for (int i = 0; i < variants.Count; i++)
        {
            string path = Path.Combine(settings.Output, $"{settings.Orders.Name}-{i}-path.png");
            PngWriter.Write(OrderPictures.Path(variants[i]), path);
            string masks = Path.Combine(settings.Output, $"{settings.Orders.Name}-{i}-masks-B.png");
            PngWriter.Write(OrderPictures.Masks(variants[i], 3, 1, MaskType.B), masks, scale: 2);
            terminal.Line($"order {i}: {path}, {masks}");
        }
        return ExitCodes.Success;
    }
}
