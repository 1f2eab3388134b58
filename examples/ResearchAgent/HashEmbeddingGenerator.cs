using Microsoft.Extensions.AI;

namespace AgentStack.Examples.ResearchAgent;

/// <summary>
/// Deterministic embeddings: hashed bag of words, L2-normalised. Similar texts share words and so point
/// the same way; good enough for an in-process vector store in a demo, and no model download.
/// </summary>
public sealed class HashEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int Dimensions = 256;
    private static readonly EmbeddingGeneratorMetadata Metadata = new("agentstack-local", new Uri("local://embeddings"), "hash-bow-256", Dimensions);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var embeddings = new GeneratedEmbeddings<Embedding<float>>();
        long tokens = 0;
        foreach (var value in values)
        {
            var vector = new float[Dimensions];
            foreach (var word in Words(value))
            {
                tokens++;
                var hash = LocalChatClient.StableHash(word);
                vector[(hash & 0x7fffffff) % Dimensions] += (hash & 0x100) == 0 ? 1f : -1f;
            }
            var norm = MathF.Sqrt(vector.Sum(v => v * v));
            if (norm > 0)
            {
                for (var i = 0; i < vector.Length; i++)
                    vector[i] /= norm;
            }
            embeddings.Add(new Embedding<float>(vector) { ModelId = "hash-bow-256" });
        }
        embeddings.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        return Task.FromResult(embeddings);
    }

    private static IEnumerable<string> Words(string text) =>
        text.ToLowerInvariant().Split([' ', '\n', '.', ',', ':', ';', '?', '!', '(', ')', '"'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length > 2);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
