namespace AgentStack.Sdk;

/// <summary>
/// The span kinds AgentStack understands (docs/architecture.md, native ingestion: <c>kind</c>).
/// A span started with <see cref="AgentStackTracer.StartSpan(string, string)"/> carries its kind as the
/// activity's <see cref="System.Diagnostics.Activity.OperationName"/>, so naming the kind costs nothing.
/// </summary>
public static class AgentStackSpanKind
{
    /// <summary>An agent run: the root of a run or a sub-agent it handed work to.</summary>
    public const string Agent = "agent";

    /// <summary>A step that groups other steps (a plan, a summarisation, a parse-and-repair loop).</summary>
    public const string Chain = "chain";

    /// <summary>One call to a language model.</summary>
    public const string Llm = "llm";

    /// <summary>One tool or function call.</summary>
    public const string Tool = "tool";

    /// <summary>A retrieval from a vector store, search index or database.</summary>
    public const string Retrieval = "retrieval";

    /// <summary>One call to an embedding model.</summary>
    public const string Embedding = "embedding";

    /// <summary>A safety check on input or output (prompt injection, PII, policy).</summary>
    public const string Guardrail = "guardrail";

    /// <summary>Anything else.</summary>
    public const string Other = "other";

    /// <summary>Whether <paramref name="kind"/> is one of the kinds above.</summary>
    /// <param name="kind">The kind to check.</param>
    /// <returns><see langword="true"/> for a known kind.</returns>
    public static bool IsKnown(string? kind) =>
        kind is Agent or Chain or Llm or Tool or Retrieval or Embedding or Guardrail or Other;
}
