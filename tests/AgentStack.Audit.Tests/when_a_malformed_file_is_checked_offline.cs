using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

namespace AgentStack.Audit.Tests;

/// <summary>
/// docs/audit.md, command line: the offline checks answer 0 valid, 1 invalid, 2 usage error. An export, a proof or a
/// checkpoint changed by hand (a field nulled, a hash that is not hex, a signature removed) is invalid, named on the
/// first line of stdout; it must not crash the check. Files made once per class on a real SQLite log, without a server.
/// </summary>
public sealed class OfflineAuditFiles : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "agentstack-tests", "audit", "offline-files-" + Guid.NewGuid().ToString("N"));
    public string PublicKey { get; private set; } = "";
    public string Export { get; private set; } = "";
    public string OldCheckpoint { get; private set; } = "";
    public string NewCheckpoint { get; private set; } = "";
    public string Consistency { get; private set; } = "";
    public string Inclusion { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        System.IO.Directory.CreateDirectory(Directory);
        var directory = Directory;
        await using var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
        var raw = new RawEventStore(store);
        var checkpoints = new SqliteCheckpointStore(Path.Combine(directory, "audit.db"));
        await checkpoints.InitializeAsync(ct);
        using var key = AuditKey.LoadOrCreate(Path.Combine(directory, "key.pem"));
        var checkpointer = new Checkpointer(raw, checkpoints, key, TimeProvider.System);
        foreach (var trace in new[] { "a", "b", "c" })
            await store.AppendAsync(TraceStream.Name("p", trace), StreamAppend.Any, [new EventData("span.completed.v1", "{\"n\":1}"u8.ToArray())], ct);
        var old = (await checkpointer.CreateAsync(ct))!;
        foreach (var trace in new[] { "a", "b" })
            await store.AppendAsync(TraceStream.Name("p", trace), StreamAppend.Any, [new EventData("span.completed.v1", "{\"n\":2}"u8.ToArray())], ct);
        var @new = (await checkpointer.CreateAsync(ct))!;
        var leaves = (await new ProofBuilder(raw).ReadLeavesAsync(@new.TreeSize, ct))!;
        var first = (await store.ReadAllAsync(0, 1, ct))[0];

        PublicKey = await WriteAsync("public.pem", key.Public.Pem);
        OldCheckpoint = await WriteAsync("old.json", JsonSerializer.Serialize(old, AuditJson.Options));
        NewCheckpoint = await WriteAsync("new.json", JsonSerializer.Serialize(@new, AuditJson.Options));
        Consistency = await WriteAsync("consistency.json", JsonSerializer.Serialize(new ConsistencyProofResponse(old.TreeSize, @new.TreeSize,
            old.RootHash, @new.RootHash, MerkleTree.ConsistencyProof(leaves, old.TreeSize, @new.TreeSize).Select(Convert.ToHexStringLower).ToList(),
            old, @new), AuditJson.Options));
        Inclusion = await WriteAsync("inclusion.json", JsonSerializer.Serialize(new InclusionProofResponse(first.Stream, first.Version,
            first.Position, first.Hash, 0, @new.TreeSize, @new.RootHash,
            MerkleTree.InclusionProof(leaves, 0, @new.TreeSize).Select(Convert.ToHexStringLower).ToList(), @new), AuditJson.Options));
        using var buffer = new MemoryStream();
        var pipe = PipeWriter.Create(buffer, new StreamPipeWriterOptions(leaveOpen: true));
        await new AuditExportWriter(raw, new IdentityPresenter(), key, checkpoints, TimeProvider.System).WriteAsync(pipe, "p", null, null, null, ct);
        await pipe.CompleteAsync();
        Export = await WriteAsync("export.ndjson", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class IdentityPresenter : IEventPresenter
    {
        public byte[] Present(StoredEvent stored) => stored.Data;
    }

    public async Task<string> WriteAsync(string name, string text)
    {
        var file = Path.Combine(Directory, name);
        await File.WriteAllTextAsync(file, text, TestContext.Current.CancellationToken);
        return file;
    }
}

public sealed class when_a_malformed_file_is_checked_offline(OfflineAuditFiles files) : IClassFixture<OfflineAuditFiles>
{
    /// <summary>A copy of <paramref name="file"/> with <paramref name="edit"/> applied to its JSON (one line of it for an export).</summary>
    private async Task<string> EditAsync(string file, string name, Action<JsonObject> edit, int line = 0)
    {
        var lines = await File.ReadAllLinesAsync(file, TestContext.Current.CancellationToken);
        var json = JsonNode.Parse(lines[line])!.AsObject();
        edit(json);
        lines[line] = json.ToJsonString();
        return await files.WriteAsync(name, string.Join('\n', lines) + "\n");
    }

    [Fact]
    public async Task then_the_untouched_files_are_valid()
    {
        (await Cli.RunAsync("verify-export", files.Export, "--public-key", files.PublicKey)).ExitCode.ShouldBe(0);
        (await Cli.RunAsync("verify-consistency", "--old", files.OldCheckpoint, "--new", files.NewCheckpoint, "--proof", files.Consistency,
            "--public-key", files.PublicKey)).ExitCode.ShouldBe(0);
        (await Cli.RunAsync("verify-inclusion", "--checkpoint", files.NewCheckpoint, "--proof", files.Inclusion, "--public-key", files.PublicKey))
            .ExitCode.ShouldBe(0);
    }

    [Theory]
    [InlineData("stream")]
    [InlineData("type")]
    [InlineData("prevHash")]
    public async Task then_an_export_line_with_a_field_nulled_is_named(string field)
    {
        var edited = await EditAsync(files.Export, $"null-{field}.ndjson", line => line[field] = null);
        var check = await Cli.RunAsync("verify-export", edited, "--public-key", files.PublicKey);
        check.ExitCode.ShouldBe(1, check.Output);
        check.Output.ShouldStartWith("INVALID: line 1:");
    }

    [Fact]
    public async Task then_a_consistency_proof_with_a_hash_that_is_not_hex_is_invalid()
    {
        var edited = await EditAsync(files.Consistency, "consistency-not-hex.json", proof => proof["proof"]![0] = "not hex");
        var check = await Cli.RunAsync("verify-consistency", "--old", files.OldCheckpoint, "--new", files.NewCheckpoint, "--proof", edited,
            "--public-key", files.PublicKey);
        check.ExitCode.ShouldBe(1, check.Output);
        check.Output.ShouldStartWith("INVALID:");
    }

    [Fact]
    public async Task then_an_inclusion_proof_with_a_hash_that_is_not_hex_is_invalid()
    {
        var edited = await EditAsync(files.Inclusion, "inclusion-not-hex.json", proof => proof["proof"]![0] = "not hex");
        var check = await Cli.RunAsync("verify-inclusion", "--checkpoint", files.NewCheckpoint, "--proof", edited, "--public-key", files.PublicKey);
        check.ExitCode.ShouldBe(1, check.Output);
        check.Output.ShouldStartWith("INVALID:");
    }

    [Fact]
    public async Task then_a_checkpoint_without_its_signature_is_invalid()
    {
        var edited = await EditAsync(files.NewCheckpoint, "unsigned.json", checkpoint => checkpoint.Remove("signature"));
        var check = await Cli.RunAsync("verify-inclusion", "--checkpoint", edited, "--proof", files.Inclusion, "--public-key", files.PublicKey);
        check.ExitCode.ShouldBe(1, check.Output);
        check.Output.ShouldStartWith("INVALID: the checkpoint's signature does not verify");
    }

    [Fact]
    public async Task then_a_time_range_that_ends_before_it_starts_is_a_usage_error()
    {
        // As the API answers 400 for it (docs/audit.md): a reversed range checks nothing, which is no "valid".
        var check = await Cli.RunAsync("verify", "--data-dir", files.Directory, "--project", "p",
            "--from", "2026-12-02T00:00:00Z", "--to", "2026-12-01T00:00:00Z");
        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain("--to must be after --from");
    }

    [Theory]
    [InlineData("verify", "--projct", "p")]
    [InlineData("verify", "--project", "p", "extra")]
    [InlineData("prove-inclusion", "--position", "1", "--json")]
    public async Task then_an_option_the_command_does_not_take_is_a_usage_error_not_a_wider_check(string command, params string[] rest)
    {
        // A misspelled --project would otherwise check the whole log and answer "valid" for a project never checked.
        var check = await Cli.RunAsync([command, "--data-dir", files.Directory, .. rest]);
        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldNotContain("valid:");
    }

    [Theory]
    [InlineData("user", null, "--schema 'user' is a word PostgreSQL reserves")]
    [InlineData("Bad-Name", null, "--schema 'Bad-Name' must be a lower-case PostgreSQL identifier")]
    [InlineData("agentstack", "nonsense", "--postgres is not a PostgreSQL connection string")]
    [InlineData("agentstack", "Host=127.0.0.1;Port=1;Username=postgres;Timeout=2", "--postgres: the database cannot be used")]
    public async Task then_a_postgres_log_that_cannot_be_opened_is_a_usage_error_not_a_crash(string schema, string? connection, string message)
    {
        var check = await Cli.RunAsync("verify", "--postgres", connection ?? Postgres.ConnectionString, "--schema", schema);
        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain(message);
        check.Output.ShouldNotContain("Unhandled exception");
    }

    [Fact]
    public async Task then_a_data_directory_whose_log_is_not_a_database_is_a_usage_error_not_a_crash()
    {
        var directory = Path.Combine(files.Directory, "not-a-log");
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "events.db"), "not a database", TestContext.Current.CancellationToken);
        var check = await Cli.RunAsync("verify", "--data-dir", directory);
        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain("cannot be opened as an event store");
    }

    /// <summary>
    /// audit.db is SQLite: a hand edit can put any value in any column, and SQLite reads a text as the integer 0. A stored
    /// checkpoint or stream head that is not as the server wrote it is a break the report names, not a crash (it was an
    /// unhandled exception, exit 134, or a text read as 0), and the chains are still checked. (Its NOT NULL columns and
    /// its integer key refuse the other edits.)
    /// </summary>
    [Theory]
    [InlineData("UPDATE checkpoints SET timestamp = 'yesterday'", "audit.db: checkpoints.timestamp of a stored row is 'yesterday', not an integer")]
    [InlineData("UPDATE checkpoints SET timestamp = -1", "audit.db: checkpoints.timestamp of a stored row is -1, not a time in Unix microseconds")]
    [InlineData("UPDATE checkpoints SET signature = x'00'", "audit.db: checkpoints.signature of a stored row is a blob, not a text")]
    [InlineData("UPDATE checkpoints SET frontier = 'not json'", "the frontier of the stored checkpoint at tree size 5 is not a JSON array of hashes")]
    [InlineData("UPDATE checkpoints SET frontier = '[\"ab\", null]'", "the frontier of the stored checkpoint at tree size 5 is not a JSON array of hashes")]
    [InlineData("UPDATE stream_heads SET version = x'00'", "audit.db: stream_heads.version of a stored row is a blob, not an integer")]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "the test runs the edits of its own InlineData on a copy of its audit.db")]
    public async Task then_a_stored_checkpoint_that_does_not_read_is_a_break_not_a_crash(string edit, string detail)
    {
        var directory = Path.Combine(files.Directory, "edited-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.GetFiles(files.Directory))
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(directory, "audit.db")};Pooling=False"))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = edit;
            (await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken)).ShouldBeGreaterThan(0);
        }

        var check = await Cli.RunAsync("verify", "--data-dir", directory);

        check.ExitCode.ShouldBe(1, check.Output);
        check.Output.ShouldStartWith($"INVALID: checkpoint-unreadable at log: {detail} (expected nothing, found nothing)");
        check.Output.ShouldContain("5 events checked, 1 breaks");
    }

    [Fact]
    public async Task then_a_proof_without_its_hashes_is_a_usage_error()
    {
        var edited = await EditAsync(files.Inclusion, "inclusion-without-proof.json", proof => proof.Remove("proof"));
        var check = await Cli.RunAsync("verify-inclusion", "--checkpoint", files.NewCheckpoint, "--proof", edited, "--public-key", files.PublicKey);
        check.ExitCode.ShouldBe(2, check.Output);
    }
}
