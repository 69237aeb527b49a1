using System.Buffers.Binary;
using System.IO.Compression;

namespace LocallyMasked.Training.Pictures;

/// <summary>
/// Writes <see cref="RgbImage"/> rasters as PNG files with the framework's deflate and nothing else: 8-bit greyscale when
/// every pixel is grey, 8-bit RGB otherwise, not interlaced, rows unfiltered (a sheet's repeated rows and upscaled
/// blocks compress well without filters). Decoding pictures, which needs a real image library for its many formats and
/// hostile files, is left to applications (the lmconv program uses SkiaSharp).
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> as a PNG (creating its folder), upscaled by an integer factor.</summary>
    /// <param name="image">The raster.</param>
    /// <param name="path">The output path.</param>
    /// <param name="scale">Integer upscaling factor (nearest neighbour), positive.</param>
    public static void Write(RgbImage image, string path, int scale = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = Encode(image, scale);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The PNG file of <paramref name="image"/>, upscaled by an integer factor.</summary>
    /// <param name="image">The raster.</param>
    /// <param name="scale">Integer upscaling factor (nearest neighbour), positive.</param>
    /// <exception cref="ArgumentException">A scale below 1, or an upscaled image whose rows or size do not fit in memory's limits.</exception>
    public static byte[] Encode(RgbImage image, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (scale <= 0) throw new ArgumentException($"Expected a positive scale, got {scale}.", nameof(scale));
        long width = (long)image.Width * scale, height = (long)image.Height * scale;
        var rgb = image.Pixels;
        bool grey = true;
        for (int i = 0; i < rgb.Length && grey; i += 3) grey = rgb[i] == rgb[i + 1] && rgb[i] == rgb[i + 2];
        int channels = grey ? 1 : 3;
        if (width > int.MaxValue / channels - 1 || (width * channels + 1) * height > int.MaxValue)
            throw new ArgumentException($"A {width}x{height} picture is too large for one PNG of this writer.", nameof(scale));

        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), (uint)height);
        header[8] = 8;                    // bits per sample
        header[9] = grey ? (byte)0 : (byte)2;   // colour type: greyscale or truecolour
        // compression 0 (deflate), filter method 0, no interlacing: bytes 10 to 12 stay 0.

        var row = new byte[1 + width * channels];   // filter type 0 (none), then the samples
        using var compressed = new MemoryStream();
        using (var deflate = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < image.Height; y++)
            {
                for (int x = 0; x < image.Width; x++)
                {
                    int source = (y * image.Width + x) * 3;
                    for (int s = 0; s < scale; s++)
                    {
                        int target = 1 + (x * scale + s) * channels;
                        if (grey) row[target] = rgb[source];
                        else
                        {
                            row[target] = rgb[source];
                            row[target + 1] = rgb[source + 1];
                            row[target + 2] = rgb[source + 2];
                        }
                    }
                }
                for (int s = 0; s < scale; s++) deflate.Write(row);
            }
        }

        using var file = new MemoryStream();
        file.Write(Signature);
        Chunk(file, "IHDR", header);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", Array.Empty<byte>());
        return file.ToArray();
    }

    /// <summary>A chunk: length, type, data, and the CRC-32 of type and data.</summary>
    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        output.Write(word);
        var typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }

    private static uint Crc(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
