using System.Text;
using AgentStack.Events;
using AgentStack.EventStore.Sqlite;
using AgentStack.Projections.Running;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A real SQLite event log in a folder of its own, holding <c>events</c> small events in one stream, for the tests of a
/// runner; the folder goes with it.
/// </summary>
public sealed class RunnerTestLog : IAsyncDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "agentstack-runner-" + Guid.NewGuid().ToString("N"));

    private RunnerTestLog() =>
        Store = new SqliteEventStore(new SqliteEventStoreOptions(Path.Combine(folder, "events.db")), TimeProvider.System);

    public SqliteEventStore Store { get; }

    public static async Task<RunnerTestLog> CreateAsync(int events, CancellationToken cancellationToken)
    {
        var log = new RunnerTestLog();
        EventData[] data = [.. Enumerable.Range(1, events).Select(i => new EventData("test.v1", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}")))];
        await log.Store.AppendAsync("stream-1", StreamAppend.NoStream, data, cancellationToken);
        return log;
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }
}

/// <summary>A test class each of whose tests gets a new <see cref="RunnerTestLog"/> of <paramref name="events"/> events.</summary>
public abstract class WithRunnerTestLog(int events) : IAsyncLifetime
{
    protected RunnerTestLog Log { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => Log = await RunnerTestLog.CreateAsync(events, Ct);

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Log.DisposeAsync();
    }
}

/// <summary>
/// Checkpoints in a dictionary (these tests run one projection in one process). With <paramref name="held"/>, a load
/// answers only once that task completes: a checkpoint store that is slow to answer at start-up.
/// </summary>
internal sealed class MemoryCheckpoints(Task? held = null) : ICheckpointStore
{
    private readonly Dictionary<string, long> saved = new(StringComparer.Ordinal);

    /// <summary>Completes when a load has been asked for.</summary>
    public TaskCompletionSource Loading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<IReadOnlyDictionary<string, long>> LoadAsync(IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        Loading.TrySetResult();
        if (held is not null)
            await held.WaitAsync(cancellationToken);
        lock (saved)
            return names.ToDictionary(n => n, n => saved.GetValueOrDefault(n), StringComparer.Ordinal);
    }

    public Task SaveAsync(IReadOnlyDictionary<string, long> checkpoints, CancellationToken cancellationToken)
    {
        lock (saved)
            foreach (var (name, position) in checkpoints)
                saved[name] = Math.Max(saved.GetValueOrDefault(name), position);
        return Task.CompletedTask;
    }
}
