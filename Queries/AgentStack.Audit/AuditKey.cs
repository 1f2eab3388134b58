using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentStack.Audit;

/// <summary>
/// The deployment's signing key for checkpoints and exports (docs/audit.md): ECDSA P-256 with SHA-256
/// from the BCL, signatures in the IEEE P1363 form (r || s, 64 bytes) as base64. Kept as a PKCS#8 PEM
/// file in the data directory (created on first start, readable by the owner only) unless
/// <c>AgentStack:Audit:SigningKeyPath</c> or <c>AgentStack:Audit:SigningKey</c> (PEM text) names one,
/// which hosts sharing a PostgreSQL log must do so that they sign with the same key.
/// </summary>
public sealed class AuditKey : IDisposable
{
    public const string Algorithm = "ECDSA-P256-SHA256";
    public const string DefaultFileName = "audit-signing-key.pem";

    private readonly ECDsa key;

    private AuditKey(ECDsa key)
    {
        this.key = key;
        Public = AuditPublicKey.FromKey(key);
    }

    public AuditPublicKey Public { get; }

    public string KeyId => Public.KeyId;

    public string Sign(ReadOnlySpan<byte> data) => Convert.ToBase64String(key.SignData(data, HashAlgorithmName.SHA256));

    public static AuditKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        if (key.KeySize != 256)
            throw new InvalidOperationException($"The audit signing key must be ECDSA P-256, not a {key.KeySize}-bit key.");
        return new AuditKey(key);
    }

    /// <summary>Loads the key at <paramref name="path"/>, creating a new one there when the file does not exist.</summary>
    public static AuditKey LoadOrCreate(string path)
    {
        if (File.Exists(path))
            return FromPem(File.ReadAllText(path));
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(temp, options))
        {
            file.Write(Encoding.ASCII.GetBytes(pem));
            file.Flush(flushToDisk: true);
        }
        // Two processes starting at once on one data directory: the first key written wins for both.
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
            key.Dispose();
            return FromPem(File.ReadAllText(path));
        }
        return new AuditKey(key);
    }

    public void Dispose() => key.Dispose();
}

/// <summary>The public half: what an auditor holds to check checkpoints and exports offline.</summary>
public sealed class AuditPublicKey
{
    private readonly ECDsa key;

    private AuditPublicKey(ECDsa key, string pem)
    {
        this.key = key;
        Pem = pem;
        KeyId = Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
    }

    /// <summary>SubjectPublicKeyInfo PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    public string Pem { get; }

    /// <summary>The first 16 hex digits of the SHA-256 of the SubjectPublicKeyInfo.</summary>
    public string KeyId { get; }

    public string Algorithm => AuditKey.Algorithm;

    public bool Verify(ReadOnlySpan<byte> data, string? signatureBase64)
    {
        // A checkpoint or manifest read from a file may have no signature at all.
        if (signatureBase64 is null) return false;
        var signature = new byte[signatureBase64.Length];
        if (!Convert.TryFromBase64String(signatureBase64, signature, out var length)) return false;
        return key.VerifyData(data, signature.AsSpan(0, length), HashAlgorithmName.SHA256);
    }

    internal static AuditPublicKey FromKey(ECDsa privateKey)
    {
        var pub = ECDsa.Create();
        pub.ImportSubjectPublicKeyInfo(privateKey.ExportSubjectPublicKeyInfo(), out _);
        return new AuditPublicKey(pub, pub.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>
    /// Reads a public key as <c>GET /api/audit/public-key</c> answers it (JSON with <c>publicKey</c>) or as a
    /// PEM file; a private key PEM works too (its public half is used).
    /// </summary>
    public static AuditPublicKey Parse(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            using var json = JsonDocument.Parse(trimmed);
            text = json.RootElement.GetProperty("publicKey").GetString()
                ?? throw new FormatException("The key document's publicKey is null.");
        }
        var key = ECDsa.Create();
        key.ImportFromPem(text);
        return FromKey(key);
    }
}
