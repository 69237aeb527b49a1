namespace LocallyMasked.Orders;

/// <summary>
/// The argument checks every API that takes a list of orders makes, in one place (public for code built on the library,
/// such as the training package, that takes orders and refuses bad ones the same way).
/// </summary>
public static class OrderArguments
{
    /// <summary>
    /// Checks that <paramref name="orders"/> holds at least one order, no null, and (when a size is given) only orders
    /// of <paramref name="height"/> x <paramref name="width"/> images.
    /// </summary>
    /// <param name="orders">The orders to check.</param>
    /// <param name="argumentName">The caller's argument name, used in the messages.</param>
    /// <param name="height">The image height the orders must have, or null for any size (then all must share one size).</param>
    /// <param name="width">The image width the orders must have, or null for any size.</param>
    /// <param name="sizeOwner">What fixes the size, for the message ("the model", "the training images").</param>
    /// <exception cref="ArgumentNullException">The list is null.</exception>
    /// <exception cref="ArgumentException">The list is empty, holds a null, or an order of another size.</exception>
    public static void Check(IReadOnlyList<GenerationOrder> orders, string argumentName, int? height = null, int? width = null,
        string sizeOwner = "the model")
    {
        if (orders is null) throw new ArgumentNullException(argumentName);
        if (orders.Count == 0) throw new ArgumentException("Expected at least one order.", argumentName);
        for (int i = 0; i < orders.Count; i++)
        {
            var order = orders[i] ?? throw new ArgumentException($"Order {i} is null.", argumentName);
            int h = height ?? orders[0]!.Height, w = width ?? orders[0]!.Width;
            if (order.Height != h || order.Width != w)
            {
                throw new ArgumentException(
                    height is null
                        ? $"All orders must share one image size; order {i} is {order.Height}x{order.Width}, order 0 is {h}x{w}."
                        : $"Order {i} is for {order.Height}x{order.Width} images, {sizeOwner} for {h}x{w}.",
                    argumentName);
            }
        }
    }

    /// <summary>
    /// Checks an image size as every order and region takes it: at least 1x1, and at most 2^31 - 1 pixels, since a pixel is
    /// an <see cref="int"/> index <c>row * width + column</c> (checked arithmetic: a size whose product overflows is refused,
    /// not wrapped).
    /// </summary>
    /// <param name="height">The image height.</param>
    /// <param name="width">The image width.</param>
    /// <returns>The pixel count, <c>height * width</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side below 1, or more pixels than an int indexes.</exception>
    public static int CheckImageSize(int height, int width)
    {
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), $"The image height must be at least 1, got {height}.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), $"The image width must be at least 1, got {width}.");
        long pixels = (long)height * width;
        if (pixels > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(height),
                $"A {height}x{width} image has {pixels} pixels; pixel indices are ints, so at most {int.MaxValue} are possible.");
        return (int)pixels;
    }
}
