namespace AgentStack.Commands.Bus;

internal static class AbandonedSends
{
    /// <summary>
    /// Lets a send that nobody waits for any more end on its own, instead of cancelling it: cancelling a RabbitMQ.Client
    /// operation mid-flight can leave its channel's replies out of step for good. Its failure, expected, is observed here
    /// rather than raised as an unobserved task exception.
    /// </summary>
    public static void Abandon(this Task send) =>
        send.ContinueWith(static sent => sent.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
