using System.Globalization;
using System.Text;

namespace AgentStack.Projections.Running;

/// <summary>
/// Splits the log into parts by stream, so one trace's events always land in the same part and are
/// applied in order by one worker: the traces table recomputes a trace from its spans, which needs
/// every earlier span of the trace already written.
/// </summary>
public static class LogPartitions
{
    /// <summary>The part of <paramref name="stream"/>: FNV-1a of its UTF-8 bytes, stable across processes and versions.</summary>
    public static int Of(string stream, int partitions)
    {
        if (partitions == 1)
            return 0;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(stream) <= buffer.Length
            ? buffer[..Encoding.UTF8.GetBytes(stream, buffer)]
            : Encoding.UTF8.GetBytes(stream);
        var hash = 2166136261u;
        foreach (var b in bytes)
            hash = (hash ^ b) * 16777619u;
        return (int)(hash % (uint)partitions);
    }

    /// <summary>
    /// The checkpoint name of one part. A single part keeps the projection's own name, so the embedded
    /// default's checkpoints stay where they were; the count is in the name, so a new count starts afresh.
    /// </summary>
    public static string CheckpointName(string projection, int partition, int partitions) =>
        partitions == 1 ? projection : string.Create(CultureInfo.InvariantCulture, $"{projection}/{partition}-of-{partitions}");
}
