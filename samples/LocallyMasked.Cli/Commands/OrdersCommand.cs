using System.CommandLine;
using LocallyMasked.Cli.Imaging;
using LocallyMasked.Masks;

namespace LocallyMasked.Cli;

/// <summary>The `orders` command: draws an order's symmetric variants (paths and masks) as PNG files.</summary>
public static class OrdersCommand
{
    /// <summary>The largest image side the command draws (the mask pictures grow with its square).</summary>
    public const int MaxSide = 256;

    /// <summary>Builds the command.</summary>
    /// <param name="terminal">Where the command writes.</param>
    public static Command Create(Terminal terminal)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        var order = new Option<string>("--order") { Description = OrderNames.Description, DefaultValueFactory = _ => "s-curve" };
        order.AcceptOnlyFromAmong(OrderNames.All.ToArray());
        var height = new Option<int>("--height") { Description = "Image height.", DefaultValueFactory = _ => 28 }.Between(1, MaxSide);
        var width = new Option<int>("--width") { Description = "Image width.", DefaultValueFactory = _ => 28 }.Between(1, MaxSide);
        var count = new Option<int>("--orders") { Description = "How many symmetric variants (1-8).", DefaultValueFactory = _ => 8 }.Between(1, 8);
        var output = new Option<string>("--output", "-o") { Description = "Output folder.", DefaultValueFactory = _ => "out/orders" };
        var command = new Command("orders", "Draw generation orders (the path, last pixel marked) and their local masks as PNG files.")
        {
            order, height, width, count, output,
        };
        command.SetAction(result =>
        {
            string name = result.GetValue(order)!, folder = result.GetValue(output)!;
            Checks.WritableFolder(folder, "--output");
            var variants = OrderNames.Variants(name, result.GetValue(height), result.GetValue(width), result.GetValue(count));
            for (int i = 0; i < variants.Count; i++)
            {
                string path = Path.Combine(folder, $"{name}-{i}-path.png");
                PngFile.Write(OrderPictures.Path(variants[i]), path);
                string masks = Path.Combine(folder, $"{name}-{i}-masks-B.png");
                PngFile.Write(OrderPictures.Masks(variants[i], 3, 1, MaskType.B), masks, scale: 2);
                terminal.Line($"order {i}: {path}, {masks}");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
