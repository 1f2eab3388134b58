using System.Data.Common;

namespace AgentStack.EventStore.Common;

/// <summary>What both adapters' <c>ReadStreamVersionsAsync</c> return: rows of (stream, version) put back in the order asked.</summary>
public static class StreamVersions
{
    /// <summary>
    /// Reads every (stream, version) row of <paramref name="reader"/> and returns the versions in the order of
    /// <paramref name="streams"/>, 0 for a stream without a row.
    /// </summary>
    public static async Task<long[]> InOrderAsync(DbDataReader reader, IReadOnlyList<string> streams, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, long>(streams.Count, StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
            found[reader.GetString(0)] = reader.GetInt64(1);
        var versions = new long[streams.Count];
        for (var i = 0; i < versions.Length; i++)
            versions[i] = found.GetValueOrDefault(streams[i]);
        return versions;
    }
}
