using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace AgentStack.Events;

/// <summary>
/// The check on the PostgreSQL schema names of the distributed topology (event store, access documents, payload keys,
/// audit checkpoints, projection leases), which their SQL takes unquoted (docs/distributed.md, "Schema names"): lower-case
/// letters, digits and '_', a letter or '_' first, and none of the words PostgreSQL reserves, which unquoted are a
/// syntax error where a name is expected. Here, in the contracts every store references, so all of them check alike.
/// </summary>
public static partial class PostgresIdentifier
{
    /// <summary>The longest schema name the stores take; the projection leases take up to PostgreSQL's 63.</summary>
    public const int MaxLength = 51;

    /// <summary>
    /// The key words PostgreSQL marks "reserved" or "reserved (can be function or type)" (PostgreSQL documentation,
    /// appendix C, "SQL Key Words"; <c>pg_get_keywords()</c> catcode R or T). <c>system_user</c> is reserved from 16 on.
    /// </summary>
    public static readonly FrozenSet<string> ReservedWords = FrozenSet.ToFrozenSet(
    [
        "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast", "check",
        "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time",
        "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except",
        "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into",
        "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order",
        "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric", "system_user",
        "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where",
        "window", "with",
        "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full", "ilike",
        "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps", "right", "similar",
        "tablesample", "verbose",
    ], StringComparer.Ordinal);

    /// <summary>Why <paramref name="name"/> cannot name a schema in SQL unquoted, or null when it can.</summary>
    public static string? Refusal(string name, int maxLength = MaxLength) =>
        !Identifier().IsMatch(name) || name.Length > maxLength
            ? $"must be a lower-case PostgreSQL identifier (a-z, 0-9, _; a letter or _ first; at most {maxLength} characters)"
            : ReservedWords.Contains(name)
                ? "is a word PostgreSQL reserves, which SQL cannot take unquoted as a schema name"
                : null;

    /// <summary><paramref name="name"/>, when it can name a schema; else an error naming <paramref name="setting"/> and why.</summary>
    public static string Require(string name, string setting, int maxLength = MaxLength) =>
        Refusal(name, maxLength) is { } refusal ? throw new InvalidOperationException($"{setting} '{name}' {refusal}.") : name;

    // \z, not $: "$" also matches before a final line feed.
    [GeneratedRegex(@"^[a-z_][a-z0-9_]*\z")]
    private static partial Regex Identifier();
}
