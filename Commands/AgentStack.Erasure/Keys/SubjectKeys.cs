using System.Security.Cryptography;

namespace AgentStack.Erasure.Keys;

/// <summary>A payload key: its random id (stored beside each sealed payload) and its 256-bit AES-GCM key.</summary>
public sealed record SubjectKey(string KeyId, byte[] Key);

/// <summary>
/// Where payload keys live, apart from the log (issue 14; docs/privacy.md). A key belongs to
/// (project, subject hash, day of the span's start): the subject hash is HMAC-SHA256 of the subject under
/// the project's secret (the store never holds a subject in clear), <c>""</c> for spans without a subject
/// (the project-wide key); the day lets retention shred old payloads (issue 17.3). Destroying is a real
/// delete that leaves no copy of the key bytes in the store's files.
/// Synchronous on purpose: lookups are cached by <see cref="SubjectKeyring"/>, and the presenter seam
/// (<c>IEventPresenter.Present</c>) is synchronous.
/// </summary>
public interface ISubjectKeyStore
{
    /// <summary>The key of (project, subject hash, day), created if there is none yet.</summary>
    SubjectKey GetOrCreate(string project, string subjectHash, int day);

    /// <summary>A key by id, or null once destroyed (or never created).</summary>
    byte[]? Find(string keyId);

    /// <summary>Destroys every key of the subject in the project; returns their ids.</summary>
    IReadOnlyList<string> Destroy(string project, string subjectHash);

    /// <summary>
    /// Destroys every key of the project for days before <paramref name="day"/> (retention, docs/retention.md): every
    /// subject's and the project-wide key of each such day; returns their ids. Keys of day 0 (a span whose start could
    /// not be read as a date) have no age and are kept.
    /// </summary>
    IReadOnlyList<string> DestroyBefore(string project, int day);

    /// <summary>The project's secret for subject hashes, created once, never destroyed by erasure.</summary>
    byte[] ProjectSecret(string project);
}

/// <summary>
/// Wraps stored key bytes with an optional master key from configuration (<c>AgentStack:Erasure:MasterKey</c>,
/// 32 bytes in base64): AES-256-GCM, nonce and tag stored beside the ciphertext. Without a master key, keys are
/// stored as they are, and the key store must be protected like the data it opens (docs/privacy.md).
/// </summary>
public sealed class KeyWrapping(byte[]? masterKey)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Context = "agentstack-key-wrap-v1"u8.ToArray();

    public static readonly KeyWrapping None = new(null);

    public bool Enabled => masterKey is not null;

    public static KeyWrapping FromBase64(string? masterKeyBase64)
    {
        if (string.IsNullOrWhiteSpace(masterKeyBase64))
            return None;
        byte[] key;
        try
        {
            key = Convert.FromBase64String(masterKeyBase64);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("AgentStack:Erasure:MasterKey must be 32 bytes in base64 (e.g. `openssl rand -base64 32`).");
        }
        return key.Length == 32
            ? new KeyWrapping(key)
            : throw new InvalidOperationException("AgentStack:Erasure:MasterKey must be 32 bytes in base64 (e.g. `openssl rand -base64 32`).");
    }

    public byte[] Wrap(byte[] key)
    {
        if (masterKey is null)
            return key;
        var wrapped = new byte[NonceSize + key.Length + TagSize];
        RandomNumberGenerator.Fill(wrapped.AsSpan(0, NonceSize));
        using var aes = new AesGcm(masterKey, TagSize);
        aes.Encrypt(wrapped.AsSpan(0, NonceSize), key, wrapped.AsSpan(NonceSize, key.Length), wrapped.AsSpan(NonceSize + key.Length), Context);
        return wrapped;
    }

    public byte[] Unwrap(byte[] stored)
    {
        if (masterKey is null)
            return stored;
        var key = new byte[stored.Length - NonceSize - TagSize];
        using var aes = new AesGcm(masterKey, TagSize);
        try
        {
            aes.Decrypt(stored.AsSpan(0, NonceSize), stored.AsSpan(NonceSize, key.Length), stored.AsSpan(NonceSize + key.Length), key, Context);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new InvalidOperationException("A stored key does not open with AgentStack:Erasure:MasterKey: was the master key changed?", e);
        }
        return key;
    }

    public static string NewKeyId() => "k" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
