using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentStack.Otlp.Pricing;

/// <summary>One price: USD per input and output token for a model, from a date on (issue 5, cost).</summary>
public sealed record ModelPrice(string Model, string? Provider, DateOnly ValidFrom, decimal InputUsdPerToken, decimal OutputUsdPerToken)
{
    /// <summary>How a span records which entry priced it, e.g. <c>gpt-4o@2024-08-06</c>. Built once: it is
    /// written on every priced span.</summary>
    public string Key { get; } = $"{Model}@{ValidFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
}

/// <summary>What <see cref="PriceTable.Price"/> found: the cost, the entry, and the table version to record beside it.</summary>
public sealed record PricedCost(decimal CostUsd, ModelPrice Entry, string TableVersion);

/// <summary>
/// The price table: <c>Pricing/prices.json</c> shipped inside this assembly, optionally extended or overridden by
/// a user file (<c>AgentStack:Otlp:PriceTablePath</c>) of the same shape, which may also hold per-project
/// entries under <c>projects.{project}.models</c>. An entry replaces another with the same model and
/// validFrom. Lookup takes the longest model-name prefix that ends at a separator (so
/// <c>gpt-4o-mini-2024-07-18</c> uses <c>gpt-4o-mini</c>), then the latest validFrom not after the span's start.
/// </summary>
public sealed class PriceTable
{
    private readonly Dictionary<string, List<ModelPrice>> global;
    private readonly Dictionary<string, Dictionary<string, List<ModelPrice>>> perProject;

    private PriceTable(string version, IEnumerable<ModelPrice> prices, Dictionary<string, IEnumerable<ModelPrice>> projects)
    {
        Version = version;
        global = Index(prices);
        perProject = projects.ToDictionary(p => p.Key, p => Index(p.Value), StringComparer.Ordinal);
    }

    /// <summary>Recorded on every computed cost as <c>agentstack.price_table</c>, so a later re-pricing knows what was used.</summary>
    public string Version { get; }

    public IReadOnlyCollection<ModelPrice> Entries => global.Values.SelectMany(v => v).ToList();

    public static PriceTable Shipped() => Load(null);

    /// <summary>The shipped table, merged with the user file at <paramref name="userFile"/> when given.</summary>
    public static PriceTable Load(string? userFile)
    {
        using var stream = typeof(PriceTable).Assembly.GetManifestResourceStream("AgentStack.Otlp.prices.json")
            ?? throw new InvalidOperationException("The shipped price table resource is missing.");
        var shipped = JsonSerializer.Deserialize(stream, PriceJsonContext.Default.PriceFile)
            ?? throw new InvalidOperationException("The shipped price table is empty.");
        var prices = ToPrices(shipped.Models, "shipped price table");
        var version = shipped.Version ?? "shipped";
        var projects = new Dictionary<string, IEnumerable<ModelPrice>>(StringComparer.Ordinal);
        if (!string.IsNullOrWhiteSpace(userFile))
        {
            var bytes = File.ReadAllBytes(userFile);
            PriceFile user;
            try
            {
                user = JsonSerializer.Deserialize(bytes, PriceJsonContext.Default.PriceFile)
                    ?? throw new InvalidOperationException($"The price table {userFile} is empty.");
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"The price table {userFile} is not valid JSON: {e.Message}", e);
            }
            var userVersion = user.Version ?? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
            version = $"{version}+{userVersion}";
            prices = Merge(prices, ToPrices(user.Models, userFile));
            foreach (var (project, section) in user.Projects ?? [])
                projects[project] = ToPrices(section.Models, $"{userFile} projects.{project}");
        }
        return new PriceTable(version, prices, projects);
    }

    /// <summary>
    /// The cost of a call, or null when the model is not in the table (or no entry is valid at <paramref name="at"/>)
    /// or no tokens are known. A project's own entries win over the global ones.
    /// </summary>
    public PricedCost? Price(string project, string? model, long? inputTokens, long? outputTokens, DateTimeOffset at)
    {
        if (string.IsNullOrWhiteSpace(model) || (inputTokens is null && outputTokens is null))
            return null;
        var date = DateOnly.FromDateTime(at.UtcDateTime);
        var entry = Find(perProject.GetValueOrDefault(project), global, model, date);
        if (entry is null)
            return null;
        var cost = (inputTokens ?? 0) * entry.InputUsdPerToken + (outputTokens ?? 0) * entry.OutputUsdPerToken;
        return new PricedCost(cost, entry, Version);
    }

    /// <summary>The longest matching name wins across both tables; at the same name the project's entries win.</summary>
    private static ModelPrice? Find(Dictionary<string, List<ModelPrice>>? own, Dictionary<string, List<ModelPrice>> table, string model, DateOnly date)
    {
        var name = model.Trim().ToLowerInvariant();
        // "openai/gpt-4o" (router style) and "models/gemini-2.5-pro" (Google style) name the same model.
        var slash = name.LastIndexOf('/');
        if (slash >= 0)
            name = name[(slash + 1)..];
        for (var length = name.Length; length > 0; length--)
        {
            if (length < name.Length && !IsSeparator(name[length]))
                continue;
            var candidate = name[..length];
            if (own is not null && own.TryGetValue(candidate, out var ownEntries) && LatestValid(ownEntries, date) is { } ownEntry)
                return ownEntry;
            if (table.TryGetValue(candidate, out var entries))
                return LatestValid(entries, date);
        }
        return null;
    }

    /// <summary>Entries are sorted by validFrom: the last one not after <paramref name="date"/>.</summary>
    private static ModelPrice? LatestValid(List<ModelPrice> entries, DateOnly date)
    {
        for (var i = entries.Count - 1; i >= 0; i--)
            if (entries[i].ValidFrom <= date)
                return entries[i];
        return null;
    }

    private static bool IsSeparator(char c) => c is '-' or ':' or '@' or '_';

    private static Dictionary<string, List<ModelPrice>> Index(IEnumerable<ModelPrice> prices) =>
        prices.GroupBy(p => p.Model.ToLowerInvariant(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(p => p.ValidFrom).ToList(), StringComparer.Ordinal);

    private static List<ModelPrice> Merge(List<ModelPrice> baseline, List<ModelPrice> overrides)
    {
        var merged = baseline.ToDictionary(p => (p.Model.ToLowerInvariant(), p.ValidFrom));
        foreach (var p in overrides)
            merged[(p.Model.ToLowerInvariant(), p.ValidFrom)] = p;
        return merged.Values.ToList();
    }

    private static List<ModelPrice> ToPrices(List<PriceJson>? models, string source)
    {
        var prices = new List<ModelPrice>();
        foreach (var (m, i) in (models ?? []).Select((m, i) => (m, i)))
        {
            if (string.IsNullOrWhiteSpace(m.Model))
                throw new InvalidOperationException($"{source}: models[{i}].model is required");
            if (!DateOnly.TryParseExact(m.ValidFrom, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from))
                throw new InvalidOperationException($"{source}: models[{i}].validFrom must be a date such as 2025-01-31");
            if (m.InputUsdPerToken is not >= 0 || m.OutputUsdPerToken is not >= 0)
                throw new InvalidOperationException($"{source}: models[{i}] needs inputUsdPerToken and outputUsdPerToken of 0 or more");
            prices.Add(new ModelPrice(m.Model, m.Provider, from, m.InputUsdPerToken.Value, m.OutputUsdPerToken.Value));
        }
        return prices;
    }
}

internal sealed class PriceFile
{
    public string? Version { get; set; }
    public List<PriceJson>? Models { get; set; }
    public Dictionary<string, ProjectPrices>? Projects { get; set; }
}

internal sealed class ProjectPrices
{
    public List<PriceJson>? Models { get; set; }
}

internal sealed class PriceJson
{
    public string? Model { get; set; }
    public string? Provider { get; set; }
    public string? ValidFrom { get; set; }
    public decimal? InputUsdPerToken { get; set; }
    public decimal? OutputUsdPerToken { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(PriceFile))]
internal sealed partial class PriceJsonContext : JsonSerializerContext;
