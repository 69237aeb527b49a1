namespace LocallyMasked.Tests.Likelihoods;

/// <summary>Independent scalar (double) evaluation of the PixelCNN++ discretized logistic formulas.</summary>
internal static class ScalarLogistic
{
    private static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));

    private static double Softplus(double z) => z > 30 ? z : Math.Log(1.0 + Math.Exp(z));

    public static double LogBin(double x, double mean, double logScale, int bits)
    {
        double top = Math.Pow(2, bits) - 1;
        logScale = Math.Max(logScale, -7.0);
        double inv = Math.Exp(-logScale);
        double c = x - mean;
        double plus = inv * (c + 1.0 / top), minus = inv * (c - 1.0 / top);
        if (x < -0.999) return plus - Softplus(plus);
        if (x > 0.999) return -Softplus(minus);
        double delta = Sigmoid(plus) - Sigmoid(minus);
        if (delta > 1e-5) return Math.Log(delta);
        double mid = inv * c;
        // The reference code (utils.py) subtracts log(127.5), the 8-bit bins per unit length, at every bit depth.
        return mid - logScale - 2.0 * Softplus(mid) - Math.Log(127.5);
    }

    public static double LogSumExp(double[] v)
    {
        double m = v.Max();
        return m + Math.Log(v.Sum(a => Math.Exp(a - m)));
    }

    public static double[] LogSoftmax(double[] v)
    {
        double l = LogSumExp(v);
        return v.Select(a => a - l).ToArray();
    }

    /// <summary>p: 10K parameters of one pixel; x: (r, g, b).</summary>
    public static double Rgb(double[] p, double[] x, int k, int bits)
    {
        var logits = LogSoftmax(p.Take(k).ToArray());
        var terms = new double[k];
        for (int j = 0; j < k; j++)
        {
            double Mean(int c) => p[k + c * 3 * k + j];
            double LogScale(int c) => p[k + c * 3 * k + k + j];
            double Coef(int c) => Math.Tanh(p[k + c * 3 * k + 2 * k + j]);
            double m0 = Mean(0), m1 = Mean(1) + Coef(0) * x[0], m2 = Mean(2) + Coef(1) * x[0] + Coef(2) * x[1];
            terms[j] = logits[j] + LogBin(x[0], m0, LogScale(0), bits) + LogBin(x[1], m1, LogScale(1), bits) + LogBin(x[2], m2, LogScale(2), bits);
        }
        return LogSumExp(terms);
    }

    /// <summary>p: 3K parameters of one pixel.</summary>
    public static double Grey(double[] p, double x, int k, int bits)
    {
        var logits = LogSoftmax(p.Take(k).ToArray());
        return LogSumExp(Enumerable.Range(0, k).Select(j => logits[j] + LogBin(x, p[k + j], p[2 * k + j], bits)).ToArray());
    }

    public static double Level(int index, int bits) => index * 2.0 / (Math.Pow(2, bits) - 1) - 1.0;
}
