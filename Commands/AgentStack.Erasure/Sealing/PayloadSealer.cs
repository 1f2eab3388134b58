using System.Buffers;
using System.Buffers.Binary;
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
/// <c>{"sealed":"v2","key":"&lt;key id&gt;","data":"&lt;base64&gt;"}</c>: the event's fields are encrypted
/// together, in one AES-256-GCM operation over their exact bytes in the order they appear, and each envelope
/// holds its field's share of the ciphertext; the first one also holds the nonce and the tag. The names and
/// lengths of the fields are authenticated with them. Everything else (ids, names, times, models, token
/// counts, costs) stays readable. Envelopes of the first format, <c>"v1"</c> (one operation per field, each
/// envelope <c>nonce ‖ ciphertext ‖ tag</c>), are still opened.
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

    /// <summary>A v2 event's first envelope starts with the nonce and the tag, then its share of the ciphertext.</summary>
    private const int HeaderSize = NonceSize + TagSize;

    private static readonly byte[] EnvelopeStart = "{\"sealed\":\"v"u8.ToArray();
    private static readonly byte[] EnvelopeKey = "\",\"key\":\""u8.ToArray();
    private static readonly byte[] EnvelopeData = "\",\"data\":\""u8.ToArray();
    private static readonly byte[] EnvelopeEnd = "\"}"u8.ToArray();
    private static readonly byte[] ErasedPayload = "{\"erased\":true}"u8.ToArray();
    private static readonly byte[] ErasedHash = "\"erased\""u8.ToArray();

    /// <summary>The payload fields that are sealed; a v1 envelope authenticates its field's name.</summary>
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
        Span<(Field Field, Range Range)> inOrder = stackalloc (Field, Range)[4];
        var fields = scan.InOrder(inOrder);

        // The fields' bytes side by side, encrypted at once: one call into OpenSSL per event, where one per field cost
        // more than the encryption itself (each call clears OpenSSL's error queue and sets up the context).
        var plaintextLength = 0;
        foreach (var (_, range) in fields)
            plaintextLength += range.GetOffsetAndLength(data.Length).Length;
        var plaintext = ArrayPool<byte>.Shared.Rent(plaintextLength);
        var sealedBytes = ArrayPool<byte>.Shared.Rent(HeaderSize + plaintextLength);
        try
        {
            var at = 0;
            foreach (var (_, range) in fields)
            {
                data.AsSpan(range).CopyTo(plaintext.AsSpan(at));
                at += range.GetOffsetAndLength(data.Length).Length;
            }
            var nonce = sealedBytes.AsSpan(0, NonceSize);
            ThreadContext.Nonce(nonce);
            Span<byte> associated = stackalloc byte[AssociatedDataMaxLength];
            ThreadContext.For(key.Key, keys.Generation).Encrypt(nonce, plaintext.AsSpan(0, plaintextLength),
                sealedBytes.AsSpan(HeaderSize, plaintextLength), sealedBytes.AsSpan(NonceSize, TagSize),
                AssociatedData(associated, fields, data.Length));

            var output = ThreadContext.Sealed(data.Length * 4 / 3 + 64 * fields.Length + HeaderSize * 2);
            at = 0;
            var share = HeaderSize;
            for (var i = 0; i < fields.Length; i++)
            {
                var (offset, length) = fields[i].Range.GetOffsetAndLength(data.Length);
                output.Write(data.AsSpan(at, offset - at));
                // The first envelope carries the nonce and the tag before its share.
                var envelope = i == 0 ? sealedBytes.AsSpan(0, HeaderSize + length) : sealedBytes.AsSpan(share, length);
                WriteEnvelope(output, key.KeyId, envelope);
                share += length;
                at = offset + length;
            }
            output.Write(data.AsSpan(at));
            return output.WrittenSpan.ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, plaintextLength));
            ArrayPool<byte>.Shared.Return(plaintext);
            ArrayPool<byte>.Shared.Return(sealedBytes);
        }
    }

    /// <summary>
    /// The event's JSON with its sealed payloads opened, or erased where their key is gone; without
    /// <paramref name="contentHash"/>, the content hash stays sealed (it is decrypted with the rest but not shown).
    /// </summary>
    public byte[] Open(byte[] data, bool contentHash = true) => Opened(data, contentHash) ?? data;

    /// <summary>
    /// As <see cref="Open(byte[], bool)"/>, from bytes the caller does not keep (a store's read buffer): a copy of them
    /// when nothing in them is sealed.
    /// </summary>
    public byte[] OpenCopy(ReadOnlySpan<byte> data, bool contentHash = true) => Opened(data, contentHash) ?? data.ToArray();

    /// <summary>The event with its sealed payloads opened, or null when none of them is sealed.</summary>
    private byte[]? Opened(ReadOnlySpan<byte> data, bool contentHash)
    {
        var scan = Scan(data, readProject: false);
        if (scan.Count == 0)
            return null;
        Span<(Field Field, Range Range)> inOrder = stackalloc (Field, Range)[4];
        var fields = scan.InOrder(inOrder);
        Span<Envelope> envelopes = stackalloc Envelope[4];
        var sealedCount = 0;
        var sealedTogether = 0;
        for (var i = 0; i < fields.Length; i++)
        {
            // A value stored before sealing existed is not an envelope: shown as stored.
            envelopes[i] = Envelope.Read(data, fields[i].Range);
            if (envelopes[i].Version != 0)
                sealedCount++;
            if (envelopes[i].Version == 2)
                sealedTogether++;
        }
        if (sealedCount == 0)
            return null;

        // Opened, an event is shorter than sealed (base64, nonce, tag and envelope go), or "erased" where it was a
        // shorter payload: the thread's buffer holds it, and the result is copied out once at its exact size.
        var output = ThreadContext.Output(data.Length + ErasedPayload.Length * 4);
        var opener = new Opener(keys);
        var together = sealedTogether > 0 ? Together.Open(opener, data, fields, envelopes) : default;
        try
        {
            var at = 0;
            var share = 0;
            for (var i = 0; i < fields.Length; i++)
            {
                var (field, range) = fields[i];
                var envelope = envelopes[i];
                if (envelope.Version == 0)
                    continue;
                var shareLength = envelope.Version == 2 ? together.Length(i) : 0;
                if (field == Field.ContentHash && !contentHash)
                {
                    share += shareLength;
                    continue;
                }
                var (offset, length) = range.GetOffsetAndLength(data.Length);
                output.Write(data[at..offset]);
                if (envelope.Version == 1)
                    opener.OpenInto(output, field, envelope.KeyId(data), envelope.Data(data));
                else if (together.Erased)
                    output.Write(field == Field.ContentHash ? ErasedHash : ErasedPayload);
                else
                    output.Write(together.Plaintext.AsSpan(share, shareLength));
                share += shareLength;
                at = offset + length;
            }
            output.Write(data[at..]);
            return output.WrittenSpan.ToArray();
        }
        finally
        {
            together.Dispose();
        }
    }

    /// <summary>
    /// What a v2 event's tag authenticates besides the ciphertext: each sealed field's name, a zero byte, and the
    /// length of its share as a big-endian Int32, in the order of the fields in the event. A share moved to
    /// another field, cut, or left out (an envelope replaced by a plain value) fails authentication.
    /// </summary>
    private static ReadOnlySpan<byte> AssociatedData(Span<byte> buffer, ReadOnlySpan<(Field Field, Range Range)> fields, int dataLength)
    {
        var at = 0;
        foreach (var (field, range) in fields)
            at = AppendAssociated(buffer, at, field, range.GetOffsetAndLength(dataLength).Length);
        return buffer[..at];
    }

    private static int AppendAssociated(Span<byte> buffer, int at, Field field, int length)
    {
        FieldNames[(int)field].CopyTo(buffer[at..]);
        at += FieldNames[(int)field].Length;
        buffer[at++] = 0;
        BinaryPrimitives.WriteInt32BigEndian(buffer[at..], length);
        return at + sizeof(int);
    }

    private const int AssociatedDataMaxLength = 4 * (11 + 1 + sizeof(int));

    private static void WriteEnvelope(ArrayBufferWriter<byte> output, string keyId, ReadOnlySpan<byte> sealedBytes)
    {
        output.Write(EnvelopeStart);
        output.Write("2"u8);
        output.Write(EnvelopeKey);
        output.Advance(System.Text.Encoding.UTF8.GetBytes(keyId, output.GetSpan(keyId.Length * 3)));
        output.Write(EnvelopeData);
        var base64 = output.GetSpan(Base64.GetMaxEncodedToUtf8Length(sealedBytes.Length));
        Base64.EncodeToUtf8(sealedBytes, base64, out _, out var written);
        output.Advance(written);
        output.Write(EnvelopeEnd);
    }

    /// <summary>A v2 event's shares decrypted at once: the plaintext of each field in order, or erased when the key is gone.</summary>
    private struct Together : IDisposable
    {
        private byte[]? plaintext;
        private int plaintextLength;
        private FourLengths shareLengths;

        /// <summary>The key is gone: every share reads as erased.</summary>
        public bool Erased { readonly get; private set; }

        public readonly byte[] Plaintext => plaintext!;

        /// <summary>The length of the plaintext share of the event's <paramref name="fieldIndex"/>th sealed field.</summary>
        public readonly int Length(int fieldIndex) => shareLengths[fieldIndex];

        [System.Runtime.CompilerServices.InlineArray(4)]
        private struct FourLengths
        {
            private int first;
        }

        public static Together Open(Opener opener, ReadOnlySpan<byte> data, ReadOnlySpan<(Field Field, Range Range)> fields, ReadOnlySpan<Envelope> envelopes)
        {
            var together = new Together();
            string? keyId = null;
            var decodedMax = 0;
            for (var i = 0; i < fields.Length; i++)
            {
                if (envelopes[i].Version != 2)
                    continue;
                var id = envelopes[i].KeyId(data);
                if (keyId is not null && id != keyId)
                    throw new InvalidDataException("The sealed fields of a span event name different keys: the stored event was altered.");
                keyId = id;
                decodedMax += Base64.GetMaxDecodedFromUtf8Length(envelopes[i].Data(data).Length);
            }
            var sealedBytes = ArrayPool<byte>.Shared.Rent(decodedMax);
            try
            {
                var at = 0;
                var first = true;
                Span<byte> associated = stackalloc byte[AssociatedDataMaxLength];
                var associatedLength = 0;
                for (var i = 0; i < fields.Length; i++)
                {
                    if (envelopes[i].Version != 2)
                        continue;
                    if (Base64.DecodeFromUtf8(envelopes[i].Data(data), sealedBytes.AsSpan(at), out _, out var decoded) != OperationStatus.Done
                        || (first && decoded < HeaderSize))
                        throw new InvalidDataException($"A sealed {Name(fields[i].Field)} is not valid base64 of a sealed payload.");
                    var shareLength = first ? decoded - HeaderSize : decoded;
                    together.shareLengths[i] = shareLength;
                    associatedLength = AppendAssociated(associated, associatedLength, fields[i].Field, shareLength);
                    at += decoded;
                    first = false;
                }
                var aes = opener.For(keyId!);
                if (aes is null)
                {
                    together.Erased = true;
                    return together;
                }
                together.plaintextLength = at - HeaderSize;
                together.plaintext = ArrayPool<byte>.Shared.Rent(together.plaintextLength);
                try
                {
                    aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(HeaderSize, together.plaintextLength),
                        sealedBytes.AsSpan(NonceSize, TagSize), together.plaintext.AsSpan(0, together.plaintextLength),
                        associated[..associatedLength]);
                }
                catch (AuthenticationTagMismatchException e)
                {
                    together.Dispose();
                    // Not erasure: the stored bytes were altered (verification names where).
                    throw new InvalidDataException($"The sealed fields of a span event do not authenticate under key {keyId}: the stored event was altered.", e);
                }
                return together;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(sealedBytes);
            }
        }

        public void Dispose()
        {
            if (plaintext is null)
                return;
            CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, plaintextLength));
            ArrayPool<byte>.Shared.Return(plaintext);
            plaintext = null;
        }
    }

    /// <summary>
    /// Where a sealed field's envelope is in the event: <c>{"sealed":"v&lt;n&gt;","key":"…","data":"…"}</c> exactly as
    /// <see cref="WriteEnvelope"/> writes it; version 0 when the value is not one.
    /// </summary>
    private readonly struct Envelope(int version, int keyStart, int keyLength, int dataStart, int dataLength)
    {
        public int Version { get; } = version;

        public string KeyId(ReadOnlySpan<byte> event_) => ThreadContext.KeyId(event_.Slice(keyStart, keyLength));

        public ReadOnlySpan<byte> Data(ReadOnlySpan<byte> event_) => event_.Slice(dataStart, dataLength);

        public static Envelope Read(ReadOnlySpan<byte> data, Range range)
        {
            var (offset, length) = range.GetOffsetAndLength(data.Length);
            var value = data.Slice(offset, length);
            if (!value.StartsWith(EnvelopeStart) || !value.EndsWith(EnvelopeEnd) || value.Length < EnvelopeStart.Length + 1)
                return default;
            var version = value[EnvelopeStart.Length] switch { (byte)'1' => 1, (byte)'2' => 2, _ => 0 };
            var afterVersion = EnvelopeStart.Length + 1;
            if (version == 0 || !value[afterVersion..].StartsWith(EnvelopeKey))
                return default;
            var keyStart = afterVersion + EnvelopeKey.Length;
            var rest = value[keyStart..^EnvelopeEnd.Length];
            var split = rest.IndexOf(EnvelopeData);
            if (split < 0)
                return default;
            var dataStart = keyStart + split + EnvelopeData.Length;
            return new Envelope(version, offset + keyStart, split, offset + dataStart, length - EnvelopeEnd.Length - dataStart);
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
        [ThreadStatic] private static byte[]? nonces;
        [ThreadStatic] private static int noncesUsed;

        /// <summary>
        /// A fresh random nonce. The thread draws 85 at a time from the system's generator: a draw is one call into
        /// OpenSSL and cost about as much as encrypting a span. A nonce is never secret (it is stored in clear), only
        /// never to repeat under a key, which random 96-bit values drawn once each ensure.
        /// </summary>
        public static void Nonce(Span<byte> nonce)
        {
            if (nonces is null || noncesUsed + NonceSize > nonces.Length)
            {
                nonces ??= new byte[NonceSize * 85];
                RandomNumberGenerator.Fill(nonces);
                noncesUsed = 0;
            }
            nonces.AsSpan(noncesUsed, NonceSize).CopyTo(nonce);
            noncesUsed += NonceSize;
        }

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

        public AesGcm? For(string id)
        {
            if (id != keyId)
            {
                keyId = id;
                key = keys.ForOpening(id);
            }
            return key is null ? null : ThreadContext.For(key, keys.Generation);
        }

        /// <summary>
        /// A v1 envelope: <c>nonce ‖ ciphertext ‖ tag</c> of its field alone, the field's name authenticated, the nonce's
        /// last byte differing per field from the event's nonce by the field's number in its top two bits.
        /// </summary>
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

    /// <summary>Where the sealable fields are in a span event, with its project and the day of the span's start.</summary>
    private static Scanned Scan(ReadOnlySpan<byte> data, bool readProject)
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
