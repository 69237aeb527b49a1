using LocallyMasked.Models;
using SkiaSharp;

namespace LocallyMasked.Cli.Data;

/// <summary>
/// Reads the pictures given with --image (PNG, JPEG, BMP; decoded as <see cref="ImageFolderReader"/> decodes a folder's
/// files) and fits them to the model: a picture of another size is cropped centrally to the model's aspect ratio and
/// resized (mipmapped linear filtering, as a folder's images); a grey picture (equal R, G and B) is given to an RGB model
/// as three equal planes; a colour picture is refused by a grey model (converting it would change what the user gave).
/// Alpha is dropped.
/// </summary>
public static class PictureReader
{
    /// <summary>Reads one picture for <paramref name="model"/>.</summary>
    /// <param name="path">The --image path.</param>
    /// <param name="model">The model's configuration (channels and size).</param>
    /// <param name="maxPixels">The most pixels the file's header may claim (--max-image-pixels), checked before it is decoded.</param>
    /// <exception cref="InputError">A missing or undecodable file, or a colour picture for a grey model.</exception>
    public static Picture Read(string path, IImageModelConfig model, long maxPixels = ImageFolderOptions.DefaultMaxImagePixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(model);
        using var bitmap = Load(path, "--image", maxPixels);
        bool grey = IsGrey(bitmap);
        if (!grey && model.ImageChannels == 1)
            throw new InputError(
                $"--image {path}: a colour picture (R, G and B differ), but the model takes grey images (1 channel); save it in grey, or use a model of RGB images.");
        var steps = new List<string>();
        SKBitmap? resized = null;
        try
        {
            var fitted = bitmap;
            if (bitmap.Width != model.Width || bitmap.Height != model.Height)
            {
                var crop = ImageFolderReader.CentreCrop(bitmap.Width, bitmap.Height, model.Width, model.Height);
                if (crop.Width != bitmap.Width || crop.Height != bitmap.Height) steps.Add($"centre-cropped to {crop.Height}x{crop.Width}");
                using var cropped = new SKBitmap();
                if (!bitmap.ExtractSubset(cropped, crop)) throw new InputError($"--image {path}: cannot crop it to {crop.Height}x{crop.Width}.");
                resized = cropped.Resize(new SKImageInfo(model.Width, model.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
                    new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)) ?? throw new InputError($"--image {path}: cannot resize it.");
                steps.Add($"resized to {model.Height}x{model.Width}");
                fitted = resized;
            }
            if (model.ImageChannels == 3 && grey) steps.Add("grey copied to R, G and B");
            var planes = Planes(fitted.GetPixelSpan(), model.ImageChannels, model.Height * model.Width);
            string kind = grey ? "grey" : "RGB";
            string fitting = $"{bitmap.Height}x{bitmap.Width} {kind}, " + (steps.Count == 0 ? "used as it is" : string.Join(", ", steps));
            return new Picture(path, System.IO.Path.GetFileNameWithoutExtension(path), bitmap.Height, bitmap.Width, planes, fitting);
        }
        finally
        {
            resized?.Dispose();
        }
    }

    /// <summary>Decodes an image file named by <paramref name="option"/>, or throws an <see cref="InputError"/> naming it and why.</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    /// <param name="maxPixels">The most pixels its header may claim (--max-image-pixels), checked before it is decoded.</param>
    internal static SKBitmap Load(string path, string option, long maxPixels = ImageFolderOptions.DefaultMaxImagePixels)
    {
        CheckExists(path, option);
        try
        {
            return ImageFileDecoder.Load(path, path, maxPixels);
        }
        catch (InvalidDataException e)
        {
            throw new InputError($"{option} {OneLineText.Escape(path)}: {e.Message}; expected a PNG, JPEG or BMP image.", e);
        }
        catch (ImageTooLargeException e)
        {
            throw new InputError($"{option} {e.Message}.", e);
        }
    }

    /// <summary>Checks that an image file named by <paramref name="option"/> exists (before the model is loaded).</summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option that named it.</param>
    /// <exception cref="InputError">A folder, or no such file.</exception>
    public static void CheckExists(string path, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InputError($"{option} {path}: is a folder; name a PNG, JPEG or BMP file.");
        if (!File.Exists(path)) throw new InputError($"{option} {path}: file not found.");
    }

    private static bool IsGrey(SKBitmap bitmap)
    {
        var pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < pixels.Length; i += 4)
            if (pixels[i] != pixels[i + 1] || pixels[i] != pixels[i + 2]) return false;
        return true;
    }

    /// <summary>RGBA pixels to (C, H, W) planes: the red byte of a grey picture, or R, G, B.</summary>
    private static byte[] Planes(ReadOnlySpan<byte> rgba, int channels, int pixels)
    {
        var output = new byte[channels * pixels];
        for (int p = 0; p < pixels; p++)
            for (int c = 0; c < channels; c++)
                output[c * pixels + p] = rgba[4 * p + c];
        return output;
    }
}
