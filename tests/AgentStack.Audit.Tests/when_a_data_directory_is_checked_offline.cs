using System.Security.Cryptography;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using Microsoft.Data.Sqlite;

namespace AgentStack.Audit.Tests;

/// <summary>
/// docs/audit.md, command line: <c>agentstack verify --data-dir</c> reads the log and its checkpoints and writes
/// nothing, to a live directory or a copy: no checkpoint of a WAL into <c>events.db</c>, no schema, no WAL or index
/// made beside a file that had none, for <c>events.db</c> and <c>audit.db</c> alike. The tests may run as root, whom
/// file modes do not stop, so what is proved is the files' bytes, times and names left as they were.
/// </summary>
public sealed class when_a_data_directory_is_checked_offline
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "agentstack-tests", "audit", "read-only-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task then_a_copy_of_a_live_directory_is_read_through_its_wal_and_left_as_it_was()
    {
        var live = Directory.CreateDirectory(Path.Combine(root, "live")).FullName;
        var copy = Directory.CreateDirectory(Path.Combine(root, "copy")).FullName;
        await using (var store = await StoreWithEventsAsync(live))
        {
            // Copied while the server runs: the WAL holds commits, which a writer opening the copy would check into events.db.
            foreach (var file in Directory.GetFiles(live))
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        File.Exists(Path.Combine(copy, "events.db-wal")).ShouldBeTrue();

        var check = await VerifyLeavingAsItWasAsync(copy);

        check.ExitCode.ShouldBe(0, check.Output);
        check.Output.ShouldContain("3 events checked");
    }

    [Fact]
    public async Task then_the_checkpoints_in_audit_db_s_wal_are_read_through_it_and_left_in_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var live = Directory.CreateDirectory(Path.Combine(root, "live")).FullName;
        var copy = Directory.CreateDirectory(Path.Combine(root, "copy")).FullName;
        await using (var store = await StoreWithEventsAsync(live))
        {
            var checkpoints = new SqliteCheckpointStore(Path.Combine(live, SqliteCheckpointStore.DefaultFileName));
            await checkpoints.InitializeAsync(ct);
            using var key = AuditKey.LoadOrCreate(Path.Combine(live, AuditKey.DefaultFileName));
            await new Checkpointer(new RawEventStore(store), checkpoints, key, TimeProvider.System).CreateAsync(ct);
            // Copied while the server runs: audit.db's WAL holds its schema and the checkpoint, which the last
            // connection to close the copy read-write would check into audit.db, deleting the WAL and its index.
            foreach (var file in Directory.GetFiles(live))
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        new FileInfo(Path.Combine(copy, "audit.db-wal")).Length.ShouldBePositive();

        var check = await VerifyLeavingAsItWasAsync(copy);

        check.ExitCode.ShouldBe(0, check.Output);
        check.Output.ShouldContain("3 events checked, consistent with checkpoint 3");
    }

    [Fact]
    public async Task then_a_read_only_copy_without_a_wal_gets_none()
    {
        var stopped = Directory.CreateDirectory(Path.Combine(root, "stopped")).FullName;
        await (await StoreWithEventsAsync(stopped)).DisposeAsync();
        await new SqliteCheckpointStore(Path.Combine(stopped, SqliteCheckpointStore.DefaultFileName)).InitializeAsync(TestContext.Current.CancellationToken);
        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(stopped))
            File.SetAttributes(file, FileAttributes.ReadOnly);
        Directory.GetFiles(stopped).Select(Path.GetFileName).Order(StringComparer.Ordinal).ShouldBe(["audit.db", "events.db"]);

        var check = await VerifyLeavingAsItWasAsync(stopped);

        check.ExitCode.ShouldBe(0, check.Output);
        check.Output.ShouldContain("3 events checked");
    }

    [Fact]
    public async Task then_an_empty_events_db_is_a_usage_error_and_stays_empty()
    {
        // A writer would have made it an event store, with a schema and a WAL, and answered "valid: 0 events checked".
        var empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
        await File.WriteAllBytesAsync(Path.Combine(empty, "events.db"), [], TestContext.Current.CancellationToken);

        var check = await VerifyLeavingAsItWasAsync(empty);

        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain("cannot be opened as an event store");
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("another database")]
    [InlineData("no database")]
    public async Task then_an_audit_db_that_is_no_checkpoint_store_is_a_usage_error_and_left_as_it_was(string audit)
    {
        // The check's first read of it threw, and the command line ended on the unhandled exception, not a usage error.
        var directory = Directory.CreateDirectory(Path.Combine(root, "foreign-audit")).FullName;
        await (await StoreWithEventsAsync(directory)).DisposeAsync();
        SqliteConnection.ClearAllPools();
        var file = Path.Combine(directory, SqliteCheckpointStore.DefaultFileName);
        switch (audit)
        {
            case "empty": await File.WriteAllBytesAsync(file, [], TestContext.Current.CancellationToken); break;
            case "another database": File.Copy(Path.Combine(directory, "events.db"), file); break;
            default: await File.WriteAllTextAsync(file, new string('x', 4096), TestContext.Current.CancellationToken); break;
        }

        var check = await VerifyLeavingAsItWasAsync(directory);

        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain("audit.db cannot be opened as a checkpoint store");
    }

    [Fact]
    public async Task then_a_directory_without_events_db_is_a_usage_error()
    {
        var none = Directory.CreateDirectory(Path.Combine(root, "none")).FullName;

        var check = await Cli.RunAsync("verify", "--data-dir", none);

        check.ExitCode.ShouldBe(2, check.Output);
        check.Output.ShouldContain("events.db is missing");
        Directory.GetFiles(none).ShouldBeEmpty();
    }

    /// <summary>Runs <c>verify --data-dir</c> on <paramref name="directory"/>, and proves it left every file there as it was.</summary>
    private static async Task<(int ExitCode, string Output)> VerifyLeavingAsItWasAsync(string directory)
    {
        var before = Snapshot(directory);
        var check = await Cli.RunAsync("verify", "--data-dir", directory);
        Snapshot(directory).ShouldBe(before, check.Output);
        return check;
    }

    private static async Task<SqliteEventStore> StoreWithEventsAsync(string directory)
    {
        var store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
        foreach (var trace in new[] { "a", "b", "c" })
            await store.AppendAsync(TraceStream.Name("p", trace), StreamAppend.Any, [new EventData("span.completed.v1", "{\"n\":1}"u8.ToArray())],
                TestContext.Current.CancellationToken);
        return store;
    }

    /// <summary>Each file's name, and but for the WAL's index its bytes' hash and its last write time.</summary>
    private static List<string> Snapshot(string directory) => Directory.GetFiles(directory).Order(StringComparer.Ordinal)
        .Select(file => file.EndsWith("-shm", StringComparison.Ordinal)
            ? Path.GetFileName(file)
            : $"{Path.GetFileName(file)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))} {File.GetLastWriteTimeUtc(file):O}")
        .ToList();
}
