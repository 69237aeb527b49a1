namespace LocallyMasked.Cli.Data;

/// <summary>A picture given with --image, fitted to the model: its bytes at the model's channels and size.</summary>
/// <param name="Path">The --image path as given.</param>
/// <param name="Name">The file name without its extension (the completions are NAME-completed.png).</param>
/// <param name="Height">The file's height in pixels.</param>
/// <param name="Width">The file's width in pixels.</param>
/// <param name="Planes">(C, H, W) bytes at the model's channels and size.</param>
/// <param name="Fitting">What was done to fit it, for the line the command prints: "used as it is", or the crop, resize and channel copy.</param>
public sealed record Picture(string Path, string Name, int Height, int Width, byte[] Planes, string Fitting);
