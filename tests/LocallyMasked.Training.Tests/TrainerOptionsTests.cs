using LocallyMasked.Training;

namespace LocallyMasked.Training.Tests;

public class TrainerOptionsTests
{
    public static TheoryData<string, TrainerOptions> BadOptions => new()
    {
        { nameof(TrainerOptions.BatchSize), new TrainerOptions { BatchSize = 0 } },
        { nameof(TrainerOptions.LearningRate), new TrainerOptions { LearningRate = double.NaN } },
        { nameof(TrainerOptions.Beta1), new TrainerOptions { Beta1 = 1.0 } },
        { nameof(TrainerOptions.Beta2), new TrainerOptions { Beta2 = -0.1 } },
        { nameof(TrainerOptions.LearningRateDecay), new TrainerOptions { LearningRateDecay = 1.5 } },
        { nameof(TrainerOptions.DecayEvery), new TrainerOptions { DecayEvery = (LearningRateDecayUnit)7 } },
        { nameof(TrainerOptions.MaxGradientNorm), new TrainerOptions { MaxGradientNorm = 0 } },
        { nameof(TrainerOptions.EmaDecay), new TrainerOptions { EmaDecay = 1.0 } },
        { nameof(TrainerOptions.Bits), new TrainerOptions { Bits = 9 } },
        { nameof(TrainerOptions.Encoding), new TrainerOptions { Encoding = (InputEncoding)9 } },
        { nameof(TrainerOptions.OrderSampling), new TrainerOptions { OrderSampling = (OrderSampling)9 } },
        { nameof(TrainerOptions.EvaluateEvery), new TrainerOptions { EvaluateEvery = -1 } },
        { nameof(TrainerOptions.EvaluationImages), new TrainerOptions { EvaluationImages = -5 } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Each_setting_out_of_range_is_named(string setting, TrainerOptions options)
    {
        var act = options.Validate;
        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be(setting);
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        var act = new TrainerOptions().Validate;
        act.Should().NotThrow();
    }
}
