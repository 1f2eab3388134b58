using System.Text.Json;
using AgentStack.Audit;
using AgentStack.Events;
using AgentStack.EventStore.Marten;
using AgentStack.EventStore.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace AgentStack.Cli;

/// <summary>
/// The command line's audit checks (docs/architecture.md, command line; docs/audit.md). Exit codes: 0 valid,
/// 1 invalid (the first break on stdout), 2 usage error.
/// </summary>
public static class AuditCommands
{
    public const int Valid = 0, Invalid = 1, Usage = 2;

    private const string Help = """
        usage:
          agentstack verify (--data-dir DIR | --postgres CONNECTION [--schema NAME])
                            [--project P [--trace T]] [--from TIME] [--to TIME]
                            [--checkpoint FILE] [--public-key FILE] [--json]
          agentstack verify-export FILE --public-key FILE
          agentstack verify-consistency --old CHECKPOINT --new CHECKPOINT --proof FILE --public-key FILE
          agentstack verify-inclusion --checkpoint FILE --proof FILE --public-key FILE
          agentstack prove-consistency (--data-dir DIR | --postgres CONNECTION [--schema NAME]) --from SIZE --to SIZE
          agentstack prove-inclusion (--data-dir DIR | --postgres CONNECTION [--schema NAME]) --position N [--size SIZE]
          agentstack projections (status | rebuild | parity) --url URL --key KEY   (agentstack projections --help)
        exit codes: 0 valid, 1 invalid (the first problem is named on stdout), 2 usage error
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await (args.Length == 0 ? stderr : stdout).WriteLineAsync(Help);
            return args.Length == 0 ? Usage : Valid;
        }
        try
        {
            var accepted = Accepted.GetValueOrDefault(args[0]) ?? throw new UsageException($"unknown command '{args[0]}'");
            var options = Options.Parse(args.Skip(1).ToArray(), accepted, positional: args[0] == "verify-export" ? 1 : 0);
            return args[0] switch
            {
                "verify" => await VerifyAsync(options, stdout),
                "verify-export" => await VerifyExportAsync(options, stdout),
                "verify-consistency" => await VerifyConsistencyAsync(options, stdout),
                "verify-inclusion" => await VerifyInclusionAsync(options, stdout),
                "prove-consistency" => await ProveConsistencyAsync(options, stdout),
                "prove-inclusion" => await ProveInclusionAsync(options, stdout),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException e)
        {
            await stderr.WriteLineAsync($"agentstack: {e.Message}\n\n{Help}");
            return Usage;
        }
    }

    private static readonly string[] LogOptions = ["--data-dir", "--postgres", "--schema"];

    /// <summary>Each command's options, as the help gives them: any other is a usage error, not a check of something else.</summary>
    private static readonly Dictionary<string, string[]> Accepted = new(StringComparer.Ordinal)
    {
        ["verify"] = [.. LogOptions, "--project", "--trace", "--from", "--to", "--checkpoint", "--public-key", "--json"],
        ["verify-export"] = ["--public-key"],
        ["verify-consistency"] = ["--old", "--new", "--proof", "--public-key"],
        ["verify-inclusion"] = ["--checkpoint", "--proof", "--public-key"],
        ["prove-consistency"] = [.. LogOptions, "--from", "--to"],
        ["prove-inclusion"] = [.. LogOptions, "--position", "--size"],
    };

    private static async Task<int> VerifyAsync(Options o, TextWriter stdout)
    {
        await using var log = await OpenLogAsync(o);
        AuditPublicKey? key = o.Get("--public-key") is { } keyFile ? ReadPublicKey(keyFile) : log.DeploymentKey;
        Checkpoint? kept = o.Get("--checkpoint") is { } checkpointFile ? ReadJson<Checkpoint>(checkpointFile, "--checkpoint") : null;
        if (kept is not null && key is null)
            throw new UsageException("--checkpoint needs --public-key (no signing key in the data directory)");
        DateTimeOffset? from = o.Time("--from"), to = o.Time("--to");
        if (from is not null && to is not null && to <= from) throw new UsageException("--to must be after --from");
        var project = o.Get("--project");
        var trace = o.Get("--trace");
        if (trace is not null && project is null) throw new UsageException("--trace needs --project");
        var scope = project is null
            ? VerificationScope.WholeLog with { From = from, To = to }
            : VerificationScope.Project(project, trace, from, to);

        var verifier = new LogVerifier(new RawEventStore(log.Events), log.Checkpoints, key);
        var report = await verifier.VerifyAsync(scope, kept, null, CancellationToken.None);
        if (o.Has("--json"))
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(report, AuditJson.Options));
            return report.Valid ? Valid : Invalid;
        }
        if (report.Valid)
        {
            var against = report.Checkpoint is { } c
                ? $", consistent with checkpoint {c.TreeSize} ({c.RootHash}){(c.SignatureValid is null ? "; its signature was not checked (give --public-key)" : "")}"
                : ", no checkpoint to compare with";
            await stdout.WriteLineAsync($"valid: {report.EventsChecked} events checked{against}");
            return Valid;
        }
        var first = report.Breaks[0];
        await stdout.WriteLineAsync($"INVALID: {Describe(first)}");
        foreach (var b in report.Breaks.Skip(1))
            await stdout.WriteLineAsync($"  also: {Describe(b)}");
        if (report.BreaksOmitted > 0)
            await stdout.WriteLineAsync($"  and {report.BreaksOmitted} more");
        await stdout.WriteLineAsync($"{report.EventsChecked} events checked, {report.Breaks.Count + report.BreaksOmitted} breaks");
        return Invalid;
    }

    private static string Describe(AuditBreak b)
    {
        var where = b.Stream.Length == 0 ? "log" : $"{b.Stream} version {b.Version}";
        return $"{b.Kind} at {where}: {b.Detail} (expected {Or(b.ExpectedHash)}, found {Or(b.FoundHash)})";
        static string Or(string hash) => hash.Length == 0 ? "nothing" : hash;
    }

    private static async Task<int> VerifyExportAsync(Options o, TextWriter stdout)
    {
        var file = o.Positional.FirstOrDefault() ?? throw new UsageException("verify-export needs the export FILE");
        var key = ReadPublicKey(o.Get("--public-key") ?? throw new UsageException("verify-export needs --public-key FILE"));
        if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
        await using var input = File.OpenRead(file);
        var check = await AuditExportVerifier.VerifyAsync(input, key, CancellationToken.None);
        await stdout.WriteLineAsync(check.Valid ? check.Message : $"INVALID: {check.Message}");
        return check.Valid ? Valid : Invalid;
    }

    private static async Task<int> VerifyConsistencyAsync(Options o, TextWriter stdout)
    {
        var key = ReadPublicKey(o.Get("--public-key") ?? throw new UsageException("verify-consistency needs --public-key FILE"));
        var old = ReadJson<Checkpoint>(o.Get("--old") ?? throw new UsageException("verify-consistency needs --old CHECKPOINT"), "--old");
        var @new = ReadJson<Checkpoint>(o.Get("--new") ?? throw new UsageException("verify-consistency needs --new CHECKPOINT"), "--new");
        var proof = ReadJson<ConsistencyProofResponse>(o.Get("--proof") ?? throw new UsageException("verify-consistency needs --proof FILE"), "--proof");
        foreach (var (name, c) in new[] { ("old", old), ("new", @new) })
            if (!c.VerifySignature(key))
            {
                await stdout.WriteLineAsync($"INVALID: the {name} checkpoint's signature does not verify with key {key.KeyId}");
                return Invalid;
            }
        if (proof.FromSize != old.TreeSize || proof.ToSize != @new.TreeSize)
            throw new UsageException($"the proof is from {proof.FromSize} to {proof.ToSize}, the checkpoints are {old.TreeSize} and {@new.TreeSize}");
        var hashes = ProofHashes(proof.Proof, "--proof");
        var ok = hashes is not null && MerkleTree.VerifyConsistency(old.TreeSize, @new.TreeSize, old.Root, @new.Root, hashes);
        await stdout.WriteLineAsync(ok
            ? $"valid: the log of checkpoint {old.TreeSize} is a prefix of the log of checkpoint {@new.TreeSize}"
            : $"INVALID: checkpoint {@new.TreeSize} does not extend checkpoint {old.TreeSize} (the proof does not connect their roots)");
        return ok ? Valid : Invalid;
    }

    private static async Task<int> VerifyInclusionAsync(Options o, TextWriter stdout)
    {
        var key = ReadPublicKey(o.Get("--public-key") ?? throw new UsageException("verify-inclusion needs --public-key FILE"));
        var checkpoint = ReadJson<Checkpoint>(o.Get("--checkpoint") ?? throw new UsageException("verify-inclusion needs --checkpoint FILE"), "--checkpoint");
        var proof = ReadJson<InclusionProofResponse>(o.Get("--proof") ?? throw new UsageException("verify-inclusion needs --proof FILE"), "--proof");
        if (!checkpoint.VerifySignature(key))
        {
            await stdout.WriteLineAsync($"INVALID: the checkpoint's signature does not verify with key {key.KeyId}");
            return Invalid;
        }
        if (proof.TreeSize != checkpoint.TreeSize)
            throw new UsageException($"the proof is for tree size {proof.TreeSize}, the checkpoint is {checkpoint.TreeSize}");
        if (proof.EventHash is null) throw new UsageException("--proof: the file has no eventHash");
        var hashes = ProofHashes(proof.Proof, "--proof");
        var ok = hashes is not null
            && MerkleTree.VerifyInclusion(MerkleTree.LeafHash(proof.EventHash), proof.LeafIndex, checkpoint.TreeSize, hashes, checkpoint.Root);
        await stdout.WriteLineAsync(ok
            ? $"valid: event {proof.EventHash} ({proof.Stream} version {proof.Version}) is at position {proof.LeafIndex + 1} of checkpoint {checkpoint.TreeSize}"
            : $"INVALID: the proof does not place event {proof.EventHash} at position {proof.LeafIndex + 1} of checkpoint {checkpoint.TreeSize}");
        return ok ? Valid : Invalid;
    }

    private static async Task<int> ProveConsistencyAsync(Options o, TextWriter stdout)
    {
        await using var log = await OpenLogAsync(o);
        var from = o.Long("--from") ?? throw new UsageException("prove-consistency needs --from SIZE");
        var to = o.Long("--to") ?? throw new UsageException("prove-consistency needs --to SIZE");
        if (from < 1 || to < from) throw new UsageException("need 1 <= --from <= --to");
        var leaves = await new ProofBuilder(new RawEventStore(log.Events)).ReadLeavesAsync(to, CancellationToken.None);
        if (leaves is null)
        {
            await stdout.WriteLineAsync($"INVALID: the log holds no tree of size {to} (it is smaller, or has a hole)");
            return Invalid;
        }
        var proof = new ConsistencyProofResponse(from, to, Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, from)),
            Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, to)),
            MerkleTree.ConsistencyProof(leaves, from, to).Select(Convert.ToHexStringLower).ToList(),
            log.Checkpoints is null ? null : await log.Checkpoints.GetAsync(from, CancellationToken.None),
            log.Checkpoints is null ? null : await log.Checkpoints.GetAsync(to, CancellationToken.None));
        await stdout.WriteLineAsync(JsonSerializer.Serialize(proof, AuditJson.Options));
        return Valid;
    }

    private static async Task<int> ProveInclusionAsync(Options o, TextWriter stdout)
    {
        await using var log = await OpenLogAsync(o);
        var position = o.Long("--position") ?? throw new UsageException("prove-inclusion needs --position N");
        var size = o.Long("--size") ?? (log.Checkpoints is null ? null : (await log.Checkpoints.GetLatestAsync(CancellationToken.None))?.Checkpoint.TreeSize)
            ?? await log.Events.GetLastPositionAsync(CancellationToken.None);
        if (position < 1 || position > size) throw new UsageException($"--position must be between 1 and the tree size {size}");
        var leaves = await new ProofBuilder(new RawEventStore(log.Events)).ReadLeavesAsync(size, CancellationToken.None);
        var e = (await log.Events.ReadAllAsync(position - 1, 1, CancellationToken.None)).FirstOrDefault();
        if (leaves is null || e is null || e.Position != position)
        {
            await stdout.WriteLineAsync($"INVALID: the log holds no tree of size {size} (it is smaller, or has a hole)");
            return Invalid;
        }
        var proof = new InclusionProofResponse(e.Stream, e.Version, e.Position, e.Hash, position - 1, size,
            Convert.ToHexStringLower(MerkleTree.Root(leaves, 0, size)),
            MerkleTree.InclusionProof(leaves, position - 1, size).Select(Convert.ToHexStringLower).ToList(),
            log.Checkpoints is null ? null : await log.Checkpoints.GetAsync(size, CancellationToken.None));
        await stdout.WriteLineAsync(JsonSerializer.Serialize(proof, AuditJson.Options));
        return Valid;
    }

    /// <summary>A proof's hashes; null when one is not 32 bytes of hex (a proof changed by hand proves nothing, it is no crash).</summary>
    private static List<byte[]>? ProofHashes(IReadOnlyList<string>? proof, string option)
    {
        if (proof is null) throw new UsageException($"{option}: the file has no proof");
        var hashes = new List<byte[]>(proof.Count);
        foreach (var hex in proof)
        {
            var hash = new byte[32];
            if (hex is not { Length: 64 } || Convert.FromHexString(hex, hash, out _, out _) != System.Buffers.OperationStatus.Done)
                return null;
            hashes.Add(hash);
        }
        return hashes;
    }

    private sealed class OpenLog(IEventStore events, ICheckpointStore? checkpoints, AuditPublicKey? deploymentKey) : IAsyncDisposable
    {
        public IEventStore Events { get; } = events;
        public ICheckpointStore? Checkpoints { get; } = checkpoints;
        public AuditPublicKey? DeploymentKey { get; } = deploymentKey;

        public async ValueTask DisposeAsync()
        {
            if (Events is IAsyncDisposable e) await e.DisposeAsync();
            if (Checkpoints is IAsyncDisposable c) await c.DisposeAsync();
        }
    }

    /// <summary>
    /// The embedded store of a data directory, opened read-only (an auditor's check writes nothing to the log it checks,
    /// a live one or a copy), or a PostgreSQL one, as the server would open it, but offline.
    /// </summary>
    private static async Task<OpenLog> OpenLogAsync(Options o)
    {
        if (o.Get("--data-dir") is { } directory)
        {
            var events = Path.Combine(directory, "events.db");
            if (!File.Exists(events)) throw new UsageException($"no event store in {directory} (events.db is missing)");
            var audit = Path.Combine(directory, SqliteCheckpointStore.DefaultFileName);
            ICheckpointStore? checkpoints = File.Exists(audit) ? new SqliteCheckpointStore(audit, readOnly: true) : null;
            var keyFile = Path.Combine(directory, AuditKey.DefaultFileName);
            AuditPublicKey? key = null;
            if (File.Exists(keyFile))
            {
                using var signing = AuditKey.FromPem(await File.ReadAllTextAsync(keyFile));
                key = signing.Public;
            }
            ReadOnlySqliteEventStore store;
            try
            {
                store = new ReadOnlySqliteEventStore(events, new SqliteEventStoreOptions(events).BusyTimeout);
            }
            catch (SqliteException e)
            {
                throw new UsageException($"--data-dir: {events} cannot be opened as an event store: {e.Message}");
            }
            try
            {
                if (checkpoints is not null)
                    await checkpoints.InitializeAsync(CancellationToken.None);
            }
            catch (SqliteException e)
            {
                await store.DisposeAsync();
                throw new UsageException($"--data-dir: {audit} cannot be opened as a checkpoint store: {e.Message}");
            }
            return new OpenLog(store, checkpoints, key);
        }
        if (o.Get("--postgres") is { } connection)
        {
            var schema = o.Get("--schema") ?? "agentstack";
            if (PostgresIdentifier.Refusal(schema) is { } refusal)
                throw new UsageException($"--schema '{schema}' {refusal}");
            PostgresCheckpointStore checkpoints;
            try
            {
                checkpoints = new PostgresCheckpointStore(connection, schema);
                await checkpoints.InitializeAsync(CancellationToken.None);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--postgres is not a PostgreSQL connection string: {e.Message}");
            }
            catch (NpgsqlException e)
            {
                throw new UsageException($"--postgres: the database cannot be used: {e.Message}");
            }
            return new OpenLog(new MartenEventStore(new MartenEventStoreOptions(connection, schema), TimeProvider.System), checkpoints, null);
        }
        throw new UsageException("give --data-dir DIR or --postgres CONNECTION");
    }

    private static AuditPublicKey ReadPublicKey(string file)
    {
        if (!File.Exists(file)) throw new UsageException($"no such file: {file}");
        try
        {
            return AuditPublicKey.Parse(File.ReadAllText(file));
        }
        catch (Exception e) when (e is ArgumentException or JsonException or KeyNotFoundException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new UsageException($"{file} is not a public key (PEM, or the JSON of GET /api/audit/public-key): {e.Message}");
        }
    }

    private static T ReadJson<T>(string file, string option)
    {
        if (!File.Exists(file)) throw new UsageException($"{option}: no such file: {file}");
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(file), AuditJson.Options)
                ?? throw new UsageException($"{option}: {file} is empty");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{option}: {file} is not a {typeof(T).Name} ({e.Message})");
        }
    }
}

public sealed class UsageException(string message) : Exception(message);

/// <summary><c>--name value</c> pairs, <c>--flag</c>s and positional arguments.</summary>
public sealed class Options
{
    private static readonly HashSet<string> Flags = ["--json"];
    private readonly Dictionary<string, string> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = [];

    /// <summary>
    /// Reads the command's arguments: an option or flag not <paramref name="accepted"/> (a misspelled <c>--projct</c> that
    /// would widen a check to the whole log), or more than <paramref name="positional"/> arguments, is a usage error.
    /// </summary>
    public static Options Parse(string[] args, IReadOnlyCollection<string> accepted, IReadOnlyCollection<string>? flagNames = null,
        int positional = 0)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(accepted);
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && !accepted.Contains(a))
                throw new UsageException($"unknown option '{a}'");
            if ((flagNames ?? Flags).Contains(a)) o.flags.Add(a);
            else if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length) throw new UsageException($"{a} needs a value");
                o.values[a] = args[++i];
            }
            else if (o.Positional.Count < positional) o.Positional.Add(a);
            else throw new UsageException($"unexpected argument '{a}'");
        }
        return o;
    }

    public string? Get(string name) => values.GetValueOrDefault(name);

    public bool Has(string flag) => flags.Contains(flag);

    public long? Long(string name) => Get(name) is { } text
        ? long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new UsageException($"{name} must be a number")
        : null;

    public DateTimeOffset? Time(string name) => Get(name) is { } text
        ? Timestamps.TryParse(text, out var t) ? t : throw new UsageException($"{name} must be an RFC 3339 time")
        : null;
}
