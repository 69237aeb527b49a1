using System.CommandLine;
using LocallyMasked.Cli.Settings;

namespace LocallyMasked.Cli.CommandLine;

/// <summary>The <c>--shard</c> option of the commands whose images can be split over independent processes.</summary>
public static class ShardOption
{
    /// <summary>A --shard option: a malformed value, or a part past the count (<c>--shard 2/2</c>), is a usage error naming it.</summary>
    /// <param name="description">What a part of this command is.</param>
    public static Option<string?> Create(string description)
    {
        var option = new Option<string?>("--shard") { Description = description };
        option.Validators.Add(result =>
        {
            if (result.Implicit || result.Tokens.Count == 0) return;
            string typed = result.Tokens[^1].Value;
            if (ShardChoice.TryParse(typed, out string? error) is null) result.AddError($"--shard {typed}: {error}.");
        });
        return option;
    }

    /// <summary>The choice a parse result holds (<see cref="ShardChoice.Whole"/> without --shard).</summary>
    /// <param name="result">The parse result.</param>
    /// <param name="option">The option from <see cref="Create"/>.</param>
    public static ShardChoice Of(ParseResult result, Option<string?> option)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.GetValue(option) is { } text ? ShardChoice.TryParse(text, out _)! : ShardChoice.Whole;
    }
}
