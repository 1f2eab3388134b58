using System.IO.Pipelines;
using System.Text;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;

namespace AgentStack.Audit.Tests;

/// <summary>
/// Issue 14 (docs/audit.md, export): when readers are shown something other than the stored bytes
/// (payloads opened or erased), each export line carries the stored bytes as <c>stored</c>, and the
/// offline check hashes those, so an export made after an erasure still verifies. Also the time-range
/// scope of verification. Runs on a real SQLite file, without a server.
/// </summary>
public sealed class when_payloads_are_presented_differently : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "agentstack-tests", "audit", nameof(when_payloads_are_presented_differently));
    private SqliteEventStore store = null!;

    public async ValueTask InitializeAsync()
    {
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(directory, "events.db")), TimeProvider.System);
        foreach (var trace in new[] { "a", "b" })
            await store.AppendAsync(TraceStream.Name("p", trace), StreamAppend.NoStream,
                [new EventData("span.completed.v1", "{\"input\":\"secret\"}"u8.ToArray()), new EventData("span.completed.v1", "{\"n\":2}"u8.ToArray())],
                TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync() => await store.DisposeAsync();

    private sealed class ErasingPresenter : IEventPresenter
    {
        public byte[] Present(StoredEvent stored) =>
            stored.Data.AsSpan().IndexOf("secret"u8) >= 0 ? "{\"erased\":true}"u8.ToArray() : stored.Data;
    }

    [Fact]
    public async Task then_lines_carry_the_stored_bytes_and_the_export_still_verifies()
    {
        var ct = TestContext.Current.CancellationToken;
        var raw = new RawEventStore(store);
        var checkpoints = new SqliteCheckpointStore(Path.Combine(directory, "audit.db"));
        await checkpoints.InitializeAsync(ct);
        using var key = AuditKey.LoadOrCreate(Path.Combine(directory, "key.pem"));
        await new Checkpointer(raw, checkpoints, key, TimeProvider.System).CreateAsync(ct);

        using var buffer = new MemoryStream();
        var pipe = PipeWriter.Create(buffer, new StreamPipeWriterOptions(leaveOpen: true));
        (await new AuditExportWriter(raw, new ErasingPresenter(), key, checkpoints, TimeProvider.System)
            .WriteAsync(pipe, "p", null, null, null, ct)).ShouldBe(4);
        await pipe.CompleteAsync();
        var lines = Encoding.UTF8.GetString(buffer.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(5);
        lines[0].ShouldContain("\"data\":{\"erased\":true}");
        lines[0].ShouldContain($"\"stored\":\"{Convert.ToBase64String("{\"input\":\"secret\"}"u8)}\"");
        lines[1].ShouldContain("\"data\":{\"n\":2}");
        lines[1].ShouldNotContain("\"stored\"");

        buffer.Position = 0;
        var check = await AuditExportVerifier.VerifyAsync(buffer, key.Public, ct);
        check.Valid.ShouldBeTrue(check.Message);
    }

    [Fact]
    public async Task then_a_time_range_checks_only_the_streams_recorded_in_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var verifier = new LogVerifier(new RawEventStore(store), null, null);
        var all = await verifier.VerifyAsync(VerificationScope.Project("p"), null, null, ct);
        all.Valid.ShouldBeTrue();
        all.EventsChecked.ShouldBe(4);
        var past = await verifier.VerifyAsync(VerificationScope.Project("p", from: DateTimeOffset.UtcNow.AddDays(-2), to: DateTimeOffset.UtcNow.AddDays(-1)),
            null, null, ct);
        past.EventsChecked.ShouldBe(0);
        var recent = await verifier.VerifyAsync(VerificationScope.Project("p", from: DateTimeOffset.UtcNow.AddHours(-1)), null, null, ct);
        recent.EventsChecked.ShouldBe(4);
        var progress = new List<VerificationProgress>();
        await verifier.VerifyAsync(VerificationScope.Project("p"), null, progress.Add, ct);
        progress.ShouldNotBeEmpty();
        progress[^1].Position.ShouldBe(progress[^1].LastPosition);
    }
}
