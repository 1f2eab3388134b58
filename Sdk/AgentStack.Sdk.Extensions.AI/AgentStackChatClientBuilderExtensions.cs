using AgentStack.Sdk;

namespace Microsoft.Extensions.AI;

/// <summary>
/// <c>builder.UseAgentStack()</c> for Microsoft.Extensions.AI pipelines. It adds Microsoft.Extensions.AI's own
/// OpenTelemetry middleware on an AgentStack activity source with content capture on, so AgentStack records
/// what that well-kept middleware already records (GenAI semantic conventions: messages, tool definitions,
/// usage, model, finish reasons, streaming aggregated into one span), and the SDK converts it to native spans.
/// </summary>
/// <remarks>
/// Place it after <c>UseFunctionInvocation()</c> (inner to it) for one llm span per model call: the
/// function-invoking client then finds this middleware's activity source and records one tool span per
/// call with its arguments and result.
/// </remarks>
public static class AgentStackChatClientBuilderExtensions
{
    /// <summary>The activity source of chat spans.</summary>
    public const string ChatSourceName = AgentStackTracer.SourceNamePrefix + "Extensions.AI";

    /// <summary>The activity source of embedding spans.</summary>
    public const string EmbeddingSourceName = AgentStackTracer.SourceNamePrefix + "Extensions.AI.Embeddings";

    /// <summary>Records every call through this point of the pipeline as an AgentStack llm span.</summary>
    /// <param name="builder">The chat client builder.</param>
    /// <param name="capturePayloads">Record messages, tool arguments and results (default). Off: only metadata and usage.</param>
    /// <returns>The builder.</returns>
    public static ChatClientBuilder UseAgentStack(this ChatClientBuilder builder, bool capturePayloads = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseOpenTelemetry(sourceName: ChatSourceName, configure: client => client.EnableSensitiveData = capturePayloads);
    }

    /// <summary>Records every embedding call through this point of the pipeline as an AgentStack embedding span.</summary>
    /// <typeparam name="TInput">The embedded input type.</typeparam>
    /// <typeparam name="TEmbedding">The embedding type.</typeparam>
    /// <param name="builder">The embedding generator builder.</param>
    /// <param name="capturePayloads">Record the inputs (default).</param>
    /// <returns>The builder.</returns>
    public static EmbeddingGeneratorBuilder<TInput, TEmbedding> UseAgentStack<TInput, TEmbedding>(
        this EmbeddingGeneratorBuilder<TInput, TEmbedding> builder, bool capturePayloads = true)
        where TEmbedding : Embedding
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseOpenTelemetry(sourceName: EmbeddingSourceName, configure: generator => generator.EnableSensitiveData = capturePayloads);
    }
}
