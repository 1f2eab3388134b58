using System.Globalization;

namespace AgentStack.Examples.ResearchAgent;

/// <summary>
/// One option of an example's command line: <c>--name value</c> when <see cref="WithValue"/> is set (it answers null
/// for a value it refuses), otherwise a <c>--flag</c> applied by <see cref="Flag"/>.
/// </summary>
public sealed record CommandLineOption<T>(string Name, Func<T, string, T?>? WithValue = null, Func<T, T>? Flag = null)
    where T : class;

/// <summary>Reads the examples' command lines (the demo agent's and the re-run's) into their options records.</summary>
public static class CommandLine
{
    /// <summary>Applies <paramref name="args"/> to <paramref name="defaults"/>; the first unknown or invalid argument is the error.</summary>
    public static bool TryParse<T>(string[] args, T defaults, IEnumerable<CommandLineOption<T>> options, out T parsed, out string? error)
        where T : class
    {
        var byName = options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        parsed = defaults;
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            T? next = null;
            if (byName.TryGetValue(args[i], out var option))
            {
                if (option.Flag is not null)
                    next = option.Flag(parsed);
                else if (value is not null && (next = option.WithValue!(parsed, value)) is not null)
                    i++;
            }
            if (next is null)
            {
                error = $"unknown or invalid argument '{args[i]}'" + (value is null ? "" : $" (value '{value}')");
                return false;
            }
            parsed = next;
        }
        return true;
    }

    public static int? Count(string value, int atLeast) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= atLeast ? n : null;

    public static Uri? AbsoluteUri(string value) => Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : null;

    public static string? NonEmpty(string value) => value.Length > 0 ? value : null;
}
