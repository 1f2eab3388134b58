using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using AgentStack.Erasure.Keys;
using AgentStack.Events;

namespace AgentStack.Erasure.Sealing;

/// <summary>
/// Seals and opens the personal payloads of span events in their stored JSON (issue 14; docs/privacy.md).
/// Sealed: <c>span.input</c>, <c>span.output</c>, <c>span.attributes</c> and <c>contentHash</c> (a hash of
/// the whole span, which would let anyone confirm a guessed low-entropy payload). Each becomes
/// <c>{"sealed":"v1","key":"&lt;key id&gt;","data":"&lt;base64 of nonce ‖ AES-256-GCM ciphertext ‖ tag&gt;"}</c>,
/// the ciphertext being the exact bytes received, authenticated with the field's name. Everything else
/// (ids, names, times, models, token counts, costs) stays readable.
/// <para>
/// One scan of the event's bytes with <see cref="Utf8JsonReader"/> finds the fields; the output is the
/// input with those ranges spliced, never a re-serialisation of the event. Opening does the reverse, and a
/// payload whose key was destroyed reads <c>{"erased":true}</c> (its content hash reads <c>"erased"</c>).
/// </para>
/// </summary>
public sealed class PayloadSealer(SubjectKeyring keys)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] EnvelopeStart = "{\"sealed\":\"v1\",\"key\":\""u8.ToArray();
    private static readonly byte[] EnvelopeData = "\",\"data\":\""u8.ToArray();
    private static readonly byte[] EnvelopeEnd = "\"}"u8.ToArray();
    private static readonly byte[] ErasedPayload = "{\"erased\":true}"u8.ToArray();
    private static readonly byte[] ErasedHash = "\"erased\""u8.ToArray();

    /// <summary>The payload fields that are sealed, in the order their names authenticate the ciphertext.</summary>
    private enum Field : byte { Input, Output, Attributes, ContentHash }

    private static readonly byte[][] FieldNames = ["input"u8.ToArray(), "output"u8.ToArray(), "attributes"u8.ToArray(), "contentHash"u8.ToArray()];

    public SubjectKeyring Keys => keys;

    /// <summary>Whether events of this stored type carry sealed payloads.</summary>
    public static bool Seals(string type) => type is EventTypes.SpanStarted or EventTypes.SpanCompleted;

    /// <summary>The event's JSON with its payloads sealed under the key of its subject and day.</summary>
    public byte[] Seal(byte[] data)
    {
        var scan = Scan(data, readProject: true);
        if (scan.Project is null || scan.Count == 0)
            return data;
        var subject = Subjects.Of(scan.Has(Field.Attributes) ? data.AsSpan(scan.Range(Field.Attributes)) : default);
        var key = keys.ForSealing(scan.Project, subject, scan.Day);
        var output = ThreadContext.Sealed(data.Length * 4 / 3 + 96 * scan.Count);
        var aes = ThreadContext.For(key.Key, keys.Generation);
        // One random 96-bit nonce per event; each field's nonce differs from it in the last byte (its field
        // number), so no nonce repeats under a key unless two events draw the same 94 random bits.
        Span<byte> nonce = stackalloc byte[NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var at = 0;
        Span<(Field, Range)> fields = stackalloc (Field, Range)[4];
        foreach (var (field, range) in scan.InOrder(fields))
        {
            var (offset, length) = range.GetOffsetAndLength(data.Length);
            output.Write(data.AsSpan(at, offset - at));
            WriteEnvelope(output, aes, nonce, key.KeyId, field, data.AsSpan(offset, length));
            at = offset + length;
        }
        output.Write(data.AsSpan(at));
        return output.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The event's JSON with its sealed payloads opened, or erased where their key is gone; without
    /// <paramref name="contentHash"/>, the content hash stays sealed (a reader that never looks at it skips a decryption).
    /// </summary>
    public byte[] Open(byte[] data, bool contentHash = true)
    {
        var scan = Scan(data, readProject: false);
        if (scan.Count == 0)
            return data;
        // Opened, an event is shorter than sealed (base64, nonce, tag and envelope go), or "erased" where it was a
        // shorter payload: the thread's buffer holds it, and the result is copied out once at its exact size.
        var output = ThreadContext.Output(data.Length + ErasedPayload.Length * 4);
        var opener = new Opener(keys);
        var at = 0;
        var opened = false;
        Span<(Field, Range)> fields = stackalloc (Field, Range)[4];
        foreach (var (field, range) in scan.InOrder(fields))
        {
            if (field == Field.ContentHash && !contentHash)
                continue;
            var (offset, length) = range.GetOffsetAndLength(data.Length);
            if (!TryReadEnvelope(data.AsSpan(offset, length), out var keyId, out var sealedData))
                continue; // stored before sealing existed: shown as stored
            opened = true;
            output.Write(data.AsSpan(at, offset - at));
            opener.OpenInto(output, field, keyId, sealedData);
            at = offset + length;
        }
        if (!opened)
            return data;
        output.Write(data.AsSpan(at));
        return output.WrittenSpan.ToArray();
    }

    private static void WriteEnvelope(ArrayBufferWriter<byte> output, AesGcm aes, ReadOnlySpan<byte> nonce, string keyId, Field field,
        ReadOnlySpan<byte> plaintext)
    {
        var sealedLength = NonceSize + plaintext.Length + TagSize;
        var rented = ArrayPool<byte>.Shared.Rent(sealedLength);
        try
        {
            var sealedBytes = rented.AsSpan(0, sealedLength);
            nonce.CopyTo(sealedBytes);
            sealedBytes[NonceSize - 1] ^= (byte)((int)field << 6);
            aes.Encrypt(sealedBytes[..NonceSize], plaintext, sealedBytes.Slice(NonceSize, plaintext.Length),
                sealedBytes[(NonceSize + plaintext.Length)..], FieldNames[(int)field]);
            output.Write(EnvelopeStart);
            output.Advance(System.Text.Encoding.UTF8.GetBytes(keyId, output.GetSpan(keyId.Length * 3)));
            output.Write(EnvelopeData);
            var base64 = output.GetSpan(Base64.GetMaxEncodedToUtf8Length(sealedLength));
            Base64.EncodeToUtf8(sealedBytes, base64, out _, out var written);
            output.Advance(written);
            output.Write(EnvelopeEnd);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The AES context of the key this thread used last. Making one per payload cost more than the encryption
    /// (OpenSSL allocates, schedules the key and clears its error queue each time); a span batch's payloads
    /// mostly share a project-day key. A context is not thread-safe, and sealing and opening never await, so
    /// one per thread is exclusive. Keys are compared by value, never trusted by id: a destroyed key is not
    /// returned by the keyring, so its context is never asked for; an erasure (a new keyring generation)
    /// also drops the context at the thread's next use.
    /// </summary>
    private static class ThreadContext
    {
        [ThreadStatic] private static byte[]? key;
        [ThreadStatic] private static AesGcm? aes;
        [ThreadStatic] private static long generation;
        [ThreadStatic] private static ArrayBufferWriter<byte>? output;
        [ThreadStatic] private static ArrayBufferWriter<byte>? sealedOutput;
        [ThreadStatic] private static byte[]? keyIdBytes;
        [ThreadStatic] private static string? keyId;

        /// <summary>
        /// The thread's buffer for an opened event, emptied (and zeroed: it held plaintext). One opening at a time
        /// per thread.
        /// </summary>
        public static ArrayBufferWriter<byte> Output(int sizeHint) => Reuse(ref output, sizeHint, zero: true);

        /// <summary>
        /// The thread's buffer for a sealed event, emptied but not zeroed: it holds what the store keeps anyway, the
        /// payloads as ciphertext and the rest of the event as received.
        /// </summary>
        public static ArrayBufferWriter<byte> Sealed(int sizeHint) => Reuse(ref sealedOutput, sizeHint, zero: false);

        /// <summary>The buffer emptied, or a new one in place of one grown past 1 MiB for a large event.</summary>
        private static ArrayBufferWriter<byte> Reuse(ref ArrayBufferWriter<byte>? buffer, int sizeHint, bool zero)
        {
            if (buffer is null || buffer.Capacity > 1 << 20)
                buffer = new ArrayBufferWriter<byte>(Math.Max(sizeHint, 4096));
            else if (zero)
                buffer.Clear();
            else
                buffer.ResetWrittenCount();
            return buffer;
        }

        /// <summary>The key id these bytes spell: the previous one's string when they are the same.</summary>
        public static string KeyId(ReadOnlySpan<byte> bytes)
        {
            if (keyId is null || keyIdBytes is null || !bytes.SequenceEqual(keyIdBytes))
            {
                keyIdBytes = bytes.ToArray();
                keyId = System.Text.Encoding.UTF8.GetString(bytes);
            }
            return keyId;
        }

        public static AesGcm For(byte[] wanted, long keyringGeneration)
        {
            if (aes is null || key is null || generation != keyringGeneration || !CryptographicOperations.FixedTimeEquals(key, wanted))
            {
                aes?.Dispose();
                aes = new AesGcm(wanted, TagSize);
                key = wanted;
                generation = keyringGeneration;
            }
            return aes;
        }
    }

    /// <summary>Opens one event's fields; an event's fields share one key, looked up once.</summary>
    private struct Opener(SubjectKeyring keys)
    {
        private string? keyId;
        private byte[]? key;

        private AesGcm? For(string id)
        {
            if (id != keyId)
            {
                keyId = id;
                key = keys.ForOpening(id);
            }
            return key is null ? null : ThreadContext.For(key, keys.Generation);
        }

        public void OpenInto(ArrayBufferWriter<byte> output, Field field, string keyId, ReadOnlySpan<byte> base64)
        {
            var aes = For(keyId);
            if (aes is null)
            {
                output.Write(field == Field.ContentHash ? ErasedHash : ErasedPayload);
                return;
            }
            var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(base64.Length));
            try
            {
                if (Base64.DecodeFromUtf8(base64, rented, out _, out var decoded) != OperationStatus.Done || decoded < NonceSize + TagSize)
                    throw new InvalidDataException($"A sealed {PayloadSealer.Name(field)} is not valid base64 of a sealed payload.");
                var sealedBytes = rented.AsSpan(0, decoded);
                var plaintextLength = decoded - NonceSize - TagSize;
                var plaintext = output.GetSpan(plaintextLength)[..plaintextLength];
                try
                {
                    aes.Decrypt(sealedBytes[..NonceSize], sealedBytes.Slice(NonceSize, plaintextLength),
                        sealedBytes[(NonceSize + plaintextLength)..], plaintext, FieldNames[(int)field]);
                }
                catch (AuthenticationTagMismatchException e)
                {
                    // Not erasure: the stored bytes were altered (verification names where).
                    throw new InvalidDataException($"A sealed {PayloadSealer.Name(field)} does not authenticate under key {keyId}: the stored event was altered.", e);
                }
                output.Advance(plaintextLength);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

    }

    private static string Name(Field field) => System.Text.Encoding.UTF8.GetString(FieldNames[(int)field]);

    /// <summary>An envelope is exactly <c>{"sealed":"v1","key":"…","data":"…"}</c> as <see cref="WriteEnvelope"/> writes it.</summary>
    private static bool TryReadEnvelope(ReadOnlySpan<byte> value, out string keyId, out ReadOnlySpan<byte> data)
    {
        keyId = "";
        data = default;
        if (!value.StartsWith(EnvelopeStart) || !value.EndsWith(EnvelopeEnd))
            return false;
        var rest = value[EnvelopeStart.Length..^EnvelopeEnd.Length];
        var split = rest.IndexOf(EnvelopeData);
        if (split < 0)
            return false;
        keyId = ThreadContext.KeyId(rest[..split]);
        data = rest[(split + EnvelopeData.Length)..];
        return true;
    }

    /// <summary>Where the sealable fields are in a span event, with its project and the day of the span's start.</summary>
    private static Scanned Scan(byte[] data, bool readProject)
    {
        var scan = new Scanned();
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return scan;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (readProject && reader.ValueTextEquals("project"u8))
            {
                reader.Read();
                scan.Project = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("contentHash"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                scan.Set(Field.ContentHash, start, (int)reader.BytesConsumed);
            }
            else if (reader.ValueTextEquals("span"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    Field? field = reader.ValueTextEquals("input"u8) ? Field.Input
                        : reader.ValueTextEquals("output"u8) ? Field.Output
                        : reader.ValueTextEquals("attributes"u8) ? Field.Attributes
                        : null;
                    var isStart = field is null && reader.ValueTextEquals("startTime"u8);
                    reader.Read();
                    if (isStart && reader.TokenType == JsonTokenType.String)
                        scan.Day = Day(reader.ValueSpan);
                    var start = (int)reader.TokenStartIndex;
                    var isNull = reader.TokenType == JsonTokenType.Null;
                    reader.Skip();
                    if (field is { } f && !isNull)
                        scan.Set(f, start, (int)reader.BytesConsumed);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return scan;
    }

    /// <summary>yyyyMMdd of an RFC 3339 time's date, as written by the event serialiser (UTC).</summary>
    private static int Day(ReadOnlySpan<byte> time)
    {
        if (time.Length < 10 || !Utf8Parser.TryParse(time[..4], out int year, out _)
            || !Utf8Parser.TryParse(time.Slice(5, 2), out int month, out _) || !Utf8Parser.TryParse(time.Slice(8, 2), out int day, out _))
            return 0;
        return year * 10000 + month * 100 + day;
    }

    private struct Scanned
    {
        private Range input, output, attributes, contentHash;
        private byte present;

        public string? Project;
        public int Day;

        public readonly int Count => System.Numerics.BitOperations.PopCount(present);

        public readonly bool Has(Field field) => (present & (1 << (int)field)) != 0;

        public readonly Range Range(Field field) => field switch
        {
            Field.Input => input,
            Field.Output => output,
            Field.Attributes => attributes,
            _ => contentHash,
        };

        public void Set(Field field, int start, int end)
        {
            var range = new Range(start, end);
            switch (field)
            {
                case Field.Input: input = range; break;
                case Field.Output: output = range; break;
                case Field.Attributes: attributes = range; break;
                default: contentHash = range; break;
            }
            present |= (byte)(1 << (int)field);
        }

        /// <summary>The present fields by their position in the bytes, so splicing walks forward once.</summary>
        public readonly Span<(Field Field, Range Range)> InOrder(Span<(Field Field, Range Range)> fields)
        {
            var count = 0;
            for (var f = Field.Input; f <= Field.ContentHash; f++)
            {
                if (!Has(f))
                    continue;
                // Insertion into at most four: no list, no comparer.
                var at = count++;
                var start = Range(f).Start.Value;
                for (; at > 0 && fields[at - 1].Range.Start.Value > start; at--)
                    fields[at] = fields[at - 1];
                fields[at] = (f, Range(f));
            }
            return fields[..count];
        }
    }
}
