using LocallyMasked.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LocallyMasked.Training.Tests;

/// <summary>The trainer's Adam update (owned Scalars) equals TorchSharp's Adam.step bit for bit, step after step.</summary>
public class AdamUpdateTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Steps_equal_TorchSharps_Adam_bit_for_bit_and_leave_the_same_state(ScalarType dtype)
    {
        manual_seed(9);
        using var scope = NewDisposeScope();
        var start = new[] { randn(new long[] { 4, 3 }, dtype), randn(new long[] { 5 }, dtype) };
        var ours = start.Select(t => new TorchSharp.Modules.Parameter(t.clone())).ToArray();
        var theirs = start.Select(t => new TorchSharp.Modules.Parameter(t.clone())).ToArray();
        using var ourAdam = optim.Adam(ours, lr: 3e-3, beta1: 0.95, beta2: 0.9995);
        using var theirAdam = optim.Adam(theirs, lr: 3e-3, beta1: 0.95, beta2: 0.9995);
        for (int step = 0; step < 5; step++)
        {
            var target = randn(new long[] { 4, 3 }, dtype);
            foreach (var (parameters, optimizer, update) in new[] { (ours, ourAdam, true), (theirs, theirAdam, false) })
            {
                optimizer.zero_grad();
                // The second parameter gets no gradient at even steps: Adam skips it, and so must the update.
                var loss = (parameters[0] - target).pow(2).sum() + (step % 2 == 1 ? parameters[1].pow(3).sum() : zeros(1, dtype).sum());
                loss.backward();
                foreach (var group in optimizer.ParamGroups) group.LearningRate = 3e-3 * Math.Pow(0.9, step);
                if (update) AdamUpdate.Apply(optimizer);
                else optimizer.step();
            }
            for (int i = 0; i < ours.Length; i++)
                ours[i].equal(theirs[i]).all().item<bool>().Should().BeTrue($"parameter {i} after step {step + 1}");
        }
        var ourState = ourAdam.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
        var theirState = theirAdam.state_dict().State.Cast<TorchSharp.Modules.Adam.State>().ToArray();
        for (int i = 0; i < ourState.Length; i++)
        {
            ourState[i].step.Should().Be(theirState[i].step);
            ourState[i].exp_avg.equal(theirState[i].exp_avg).all().item<bool>().Should().BeTrue();
            ourState[i].exp_avg_sq.equal(theirState[i].exp_avg_sq).all().item<bool>().Should().BeTrue();
        }
    }

    [Fact]
    public void Options_the_update_does_not_implement_are_refused()
    {
        using var parameter = new TorchSharp.Modules.Parameter(ones(2));
        using var adam = optim.Adam(new[] { parameter }, weight_decay: 0.1);
        var act = () => AdamUpdate.Apply(adam);
        act.Should().Throw<NotSupportedException>().WithMessage("*weight decay*");
    }
}
