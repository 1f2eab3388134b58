using System.Security.Cryptography;
using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using AgentStack.Events;

namespace AgentStack.Audit;

/// <summary>
/// The signed export (docs/architecture.md, Audit export; docs/audit.md): one stored event a line in the replay
/// line shape plus <c>stream</c>, then one manifest line signed with the deployment key. Written as it is
/// read, so memory does not grow with the number of events (only with the number of streams, for the
/// manifest's heads).
/// </summary>
public sealed class AuditExportWriter(RawEventStore raw, IEventPresenter presenter, AuditKey key, ICheckpointStore checkpoints,
    TimeProvider time)
{
    public const string Format = "agentstack-audit-export/v1";
    private const int BatchSize = 2048;

    public async Task<long> WriteAsync(PipeWriter output, string project, string? traceId, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken ct)
    {
        var scope = VerificationScope.Project(project, traceId, from, to);
        var owned = scope.Streams();
        var logPosition = await raw.Store.GetLastPositionAsync(ct);
        // Before the first line: a checkpoint store that does not read fails the export before any of it is sent,
        // rather than ending it without its manifest.
        var latest = (await checkpoints.GetLatestAsync(ct))?.Checkpoint;
        var heads = new SortedDictionary<string, (long Version, string Hash)>(StringComparer.Ordinal);
        var frontier = new MerkleFrontier();
        long firstPosition = 0, lastPosition = 0;
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        // The hash chain covers the stored bytes; where a line shows its data otherwise (opened or erased payloads),
        // the signed manifest covers what is shown through this digest, so no line's data can change unnoticed.
        using var shown = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        async Task WriteLineAsync(StoredEvent e)
        {
            AppendShown(shown, e.Hash, WriteEvent(writer, e, presenter.Present(e)));
            await writer.FlushAsync(ct);
            writer.Reset();
            output.Write("\n"u8);
            heads[e.Stream] = (e.Version, e.Hash);
            frontier.Add(MerkleTree.LeafHash(e.Hash));
            if (firstPosition == 0) firstPosition = e.Position;
            lastPosition = e.Position;
            if (frontier.Size % 256 == 0) await output.FlushAsync(ct);
        }

        if (scope.Stream is not null)
        {
            await foreach (var e in raw.Store.ReadStreamAsync(scope.Stream, 1, ct))
                if (e.Position <= logPosition && scope.InRange(e.RecordedAt) && owned.Owns(e))
                    await WriteLineAsync(e);
        }
        else
        {
            long position = 0;
            while (position < logPosition)
            {
                var batch = await raw.Store.ReadAllAsync(position, BatchSize, ct);
                if (batch.Count == 0) break;
                foreach (var e in batch)
                {
                    if (e.Position > logPosition) break;
                    if (owned.Owns(e) && scope.InRange(e.RecordedAt))
                        await WriteLineAsync(e);
                }
                position = batch[^1].Position;
            }
        }

        var manifest = new ArrayBufferWriter<byte>();
        using (var m = new Utf8JsonWriter(manifest))
        {
            m.WriteStartObject();
            m.WriteString("format", Format);
            m.WriteString("project", project);
            if (traceId is not null) m.WriteString("traceId", traceId);
            if (from is not null) m.WriteString("from", Timestamps.Format(from.Value));
            if (to is not null) m.WriteString("to", Timestamps.Format(to.Value));
            m.WriteString("exportedAt", Timestamps.Format(time.GetUtcNow()));
            m.WriteNumber("logPosition", logPosition);
            m.WriteNumber("events", frontier.Size);
            m.WriteNumber("streams", heads.Count);
            m.WriteNumber("firstPosition", firstPosition);
            m.WriteNumber("lastPosition", lastPosition);
            m.WriteString("merkleRoot", Convert.ToHexStringLower(frontier.Root()));
            m.WriteString("shownDataDigest", Convert.ToHexStringLower(shown.GetHashAndReset()));
            m.WriteStartObject("streamHeads");
            foreach (var (stream, head) in heads)
            {
                m.WriteStartObject(stream);
                m.WriteNumber("version", head.Version);
                m.WriteString("hash", head.Hash);
                m.WriteEndObject();
            }
            m.WriteEndObject();
            if (latest is null) m.WriteNull("checkpoint");
            else
            {
                m.WritePropertyName("checkpoint");
                JsonSerializer.Serialize(m, latest, AuditJson.Options);
            }
            m.WriteEndObject();
        }
        writer.WriteStartObject();
        writer.WritePropertyName("manifest");
        writer.WriteRawValue(manifest.WrittenSpan, skipInputValidation: true);
        writer.WriteString("signature", key.Sign(manifest.WrittenSpan));
        writer.WriteString("algorithm", AuditKey.Algorithm);
        writer.WriteString("keyId", key.KeyId);
        writer.WriteEndObject();
        await writer.FlushAsync(ct);
        output.Write("\n"u8);
        await output.FlushAsync(ct);
        return frontier.Size;
    }

    /// <summary>SHA-256 over every line's hash and shown data, length-prefixed (the manifest's <c>shownDataDigest</c>).</summary>
    internal static void AppendShown(IncrementalHash digest, string hash, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[8];
        var hashBytes = Encoding.UTF8.GetBytes(hash);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, hashBytes.Length);
        digest.AppendData(length);
        digest.AppendData(hashBytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, data.Length);
        digest.AppendData(length);
        digest.AppendData(data);
    }

    /// <summary>Writes one event line; returns the bytes written as its <c>data</c>.</summary>
    private static byte[] WriteEvent(Utf8JsonWriter w, StoredEvent e, byte[] presented)
    {
        w.WriteStartObject();
        w.WriteString("stream", e.Stream);
        w.WriteNumber("version", e.Version);
        w.WriteNumber("position", e.Position);
        w.WriteString("type", e.Type);
        w.WriteString("recordedAt", Timestamps.Format(e.RecordedAt));
        w.WriteString("hash", e.Hash);
        w.WriteString("prevHash", e.PrevHash);
        w.WritePropertyName("data");
        // A payload shown differently from its stored bytes (opened or erased, docs/audit.md), or one that
        // would break the line, carries the stored bytes too: the hash covers those.
        var literal = presented.AsSpan().SequenceEqual(e.Data) && e.Data.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') < 0 && IsJson(e.Data);
        byte[] shown;
        if (literal || IsJson(presented) && presented.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') < 0 && !presented.AsSpan().SequenceEqual(e.Data))
        {
            w.WriteRawValue(presented, skipInputValidation: true);
            shown = presented;
        }
        else
        {
            w.WriteNullValue();
            shown = "null"u8.ToArray();
        }
        if (!literal) w.WriteBase64String("stored", e.Data);
        w.WriteEndObject();
        return shown;
    }

    private static bool IsJson(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes);
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

public static class Timestamps
{
    public static string Format(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}

public static class AuditJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>The result of checking an export: valid, or the first bad line (1-based) and why.</summary>
public sealed record ExportCheck(bool Valid, long Events, long? Line, string Message);

/// <summary>
/// Checks an export with nothing but the file and the deployment's public key (<c>agentstack verify-export</c>):
/// every line's hash over its stored bytes, each stream's chain inside the export, then the manifest's
/// counts, heads and Merkle root, and its signature. Reads line by line.
/// </summary>
public static class AuditExportVerifier
{
    public static async Task<ExportCheck> VerifyAsync(Stream input, AuditPublicKey key, CancellationToken ct)
    {
        using var reader = new StreamReader(input, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var heads = new Dictionary<string, (long Version, string Hash)>(StringComparer.Ordinal);
        var frontier = new MerkleFrontier();
        using var shown = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long lineNumber = 0, firstPosition = 0, lastPosition = 0, previousPosition = 0;
        string? line;
        JsonDocument? manifestLine = null;
        try
        {
            while ((line = await reader.ReadLineAsync(ct)) is not null)
            {
                lineNumber++;
                if (manifestLine is not null)
                    return Fail(lineNumber, "a line follows the manifest line");
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    return Fail(lineNumber, $"not valid JSON ({e.Message})");
                }
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("manifest", out _))
                {
                    manifestLine = doc;
                    continue;
                }
                using (doc)
                {
                    if (!TryReadEvent(root, out var e, out var problem))
                        return Fail(lineNumber, problem);
                    var computed = EventHash.Compute(e.PrevHash, e);
                    if (computed != e.Hash)
                        return Fail(lineNumber, $"{e.Stream} version {e.Version}: its bytes hash to {computed}, the line says {e.Hash}");
                    if (heads.TryGetValue(e.Stream, out var head))
                    {
                        if (e.Version != head.Version + 1 || e.PrevHash != head.Hash)
                            return Fail(lineNumber, $"{e.Stream} version {e.Version} does not follow version {head.Version} (prevHash {e.PrevHash}, expected {head.Hash})");
                    }
                    else if (e.Version == 1 && e.PrevHash != EventHash.Genesis)
                    {
                        return Fail(lineNumber, $"{e.Stream} version 1 does not start from the genesis hash");
                    }
                    if (e.Position <= previousPosition)
                        return Fail(lineNumber, $"position {e.Position} is not after {previousPosition}");
                    previousPosition = e.Position;
                    heads[e.Stream] = (e.Version, e.Hash);
                    frontier.Add(MerkleTree.LeafHash(e.Hash));
                    AuditExportWriter.AppendShown(shown, e.Hash, Encoding.UTF8.GetBytes(root.GetProperty("data").GetRawText()));
                    if (firstPosition == 0) firstPosition = e.Position;
                    lastPosition = e.Position;
                }
            }
        }
        catch (DecoderFallbackException)
        {
            return Fail(lineNumber + 1, "not valid UTF-8");
        }

        if (manifestLine is null)
            return Fail(lineNumber + 1, "the manifest line is missing (the export is cut short)");
        using (manifestLine)
        {
            var root = manifestLine.RootElement;
            var manifestText = root.GetProperty("manifest").GetRawText();
            var signature = root.TryGetProperty("signature", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
            var keyId = root.TryGetProperty("keyId", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            if (keyId != key.KeyId)
                return Fail(lineNumber, $"the manifest is signed with key {keyId}, not {key.KeyId}");
            if (!key.Verify(Encoding.UTF8.GetBytes(manifestText), signature))
                return Fail(lineNumber, "the manifest's signature does not verify");
            var manifest = root.GetProperty("manifest");
            if (manifest.GetProperty("events").GetInt64() != frontier.Size)
                return Fail(lineNumber, $"the manifest counts {manifest.GetProperty("events").GetInt64()} events, the export has {frontier.Size}");
            if (manifest.GetProperty("merkleRoot").GetString() != Convert.ToHexStringLower(frontier.Root()))
                return Fail(lineNumber, "the manifest's Merkle root is not the root of the exported events");
            if (!manifest.TryGetProperty("shownDataDigest", out var digest) || digest.GetString() != Convert.ToHexStringLower(shown.GetHashAndReset()))
                return Fail(lineNumber, "the data shown in the event lines is not the data the manifest signs (a line's data was changed)");
            var manifestHeads = manifest.GetProperty("streamHeads");
            if (manifestHeads.EnumerateObject().Count() != heads.Count || manifest.GetProperty("streams").GetInt64() != heads.Count)
                return Fail(lineNumber, $"the manifest names {manifestHeads.EnumerateObject().Count()} streams, the export has {heads.Count}");
            foreach (var (stream, head) in heads)
            {
                if (!manifestHeads.TryGetProperty(stream, out var h) || h.GetProperty("version").GetInt64() != head.Version
                    || h.GetProperty("hash").GetString() != head.Hash)
                    return Fail(lineNumber, $"the manifest's head of {stream} is not version {head.Version} with hash {head.Hash}");
            }
            if (manifest.GetProperty("firstPosition").GetInt64() != firstPosition || manifest.GetProperty("lastPosition").GetInt64() != lastPosition)
                return Fail(lineNumber, "the manifest's positions are not those of the exported events");
            if (manifest.TryGetProperty("checkpoint", out var cp) && cp.ValueKind == JsonValueKind.Object)
            {
                var checkpoint = cp.Deserialize<Checkpoint>(AuditJson.Options);
                if (checkpoint is null || !checkpoint.VerifySignature(key))
                    return Fail(lineNumber, "the manifest's checkpoint signature does not verify");
            }
        }
        return new ExportCheck(true, frontier.Size, null, $"valid: {frontier.Size} events in {heads.Count} streams, manifest signed by {key.KeyId}");
    }

    private static ExportCheck Fail(long line, string message) => new(false, 0, line, $"line {line}: {message}");

    private static bool TryReadEvent(JsonElement root, out StoredEvent e, out string problem)
    {
        e = null!;
        problem = "";
        try
        {
            var recordedAtText = root.GetProperty("recordedAt").GetString();
            if (!Timestamps.TryParse(recordedAtText, out var recordedAt))
            {
                problem = $"recordedAt '{recordedAtText}' is not a time";
                return false;
            }
            var data = root.GetProperty("data");
            byte[] stored = root.TryGetProperty("stored", out var s) && s.ValueKind == JsonValueKind.String
                ? s.GetBytesFromBase64()
                : Encoding.UTF8.GetBytes(data.GetRawText());
            e = new StoredEvent(root.GetProperty("position").GetInt64(), Text(root, "stream"), root.GetProperty("version").GetInt64(),
                Text(root, "type"), recordedAt, stored, Text(root, "hash"), Text(root, "prevHash"));
            return true;
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or NullReferenceException)
        {
            problem = $"not an event line ({ex.Message})";
            return false;
        }

        // A field set to null by hand is a bad line, not a null the hash cannot take.
        static string Text(JsonElement root, string name) =>
            root.GetProperty(name).GetString() ?? throw new InvalidOperationException($"{name} is null");
    }
}
