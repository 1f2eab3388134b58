using AgentStack.Events;
using AgentStack.Projections.Running;
using Microsoft.Extensions.Logging;

namespace AgentStack.Projections.Tests.Running;

/// <summary>
/// A process that projects every part of the log itself (<c>AgentStack:Projections:Partitions</c> above 1, no leases) lists
/// the projection under its own name beside its parts (<see cref="when_a_runner_projects_several_parts"/>). An apply that
/// threw was reported on the parts only (<c>failing/0-of-2</c>): the projection's own row in <c>GET /api/projections</c>,
/// the one the operations page pauses, resumes and rebuilds, showed no error while every part failed. One apply covers
/// every part this process holds, so each part and the projection carry the same error. A real SQLite log; the runner's own
/// log takes the status at the moment it says the projection failed.
/// </summary>
public sealed class when_a_projection_of_several_parts_fails() : WithRunnerTestLog(5)
{
    private const string Error = "the analytics store is away";

    [Fact]
    public async Task then_the_projection_itself_shows_the_error_of_its_parts()
    {
        var progress = new ProjectionProgress();
        var log = new FailureLog(progress);
        using var runner = new ProjectionRunner(new Failing(), Log.Store, new MemoryCheckpoints(), new SoleWorkerLeases(), progress,
            new NoProjectionNotifier(), TimeProvider.System, log, new ProjectionOptions { Partitions = 2, Linger = TimeSpan.Zero },
            new ProjectionControl());
        await runner.StartAsync(Ct);
        try
        {
            var errors = await log.Failed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            errors.Keys.Order(StringComparer.Ordinal).ShouldBe(["failing", "failing/0-of-2", "failing/1-of-2"]);
            errors.ShouldAllBe(e => e.Value == Error, "the projection's own row showed no error while its parts failed");
        }
        finally
        {
            await runner.StopAsync(CancellationToken.None);
        }
    }

    private sealed class Failing : IProjection
    {
        public string Name => "failing";

        public Task ApplyAsync(IReadOnlyList<StoredEvent> batch, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Error);
    }

    /// <summary>The runner's log: the errors the status lists when the runner says the projection failed.</summary>
    private sealed class FailureLog(ProjectionProgress progress) : ILogger<ProjectionRunner>
    {
        public TaskCompletionSource<IReadOnlyDictionary<string, string?>> Failed { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Error)
                Failed.TrySetResult(progress.Errors);
        }
    }
}
