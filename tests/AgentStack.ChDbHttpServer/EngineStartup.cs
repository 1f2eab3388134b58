using System.Diagnostics;
using AgentStack.Projections.Analytics.ChDb;
using Microsoft.Extensions.Options;

namespace AgentStack.ChDbHttpServer;

/// <summary>
/// What the stand-in does before it takes requests: boot the chDB engine, then say where it listens.
/// Both go to standard output, which is how a parent process (AgentStack.Testing's
/// <c>ChDbHttpServerProcess</c>) learns the port and, when something goes wrong, why.
/// </summary>
public static class EngineStartup
{
    /// <summary>Starts each line that names an address the server listens on; <c>ChDbHttpServerProcess</c> reads it.</summary>
    public const string ListeningPrefix = "Listening on: ";

    /// <summary>
    /// How long the engine may take to boot and answer its first statement. A few seconds on a busy
    /// two-core machine; well under the minute a parent waits for the server to become ready.
    /// </summary>
    public static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(45);

    /// <summary>
    /// Opens the engine and runs one statement through the writer and one through a reader connection,
    /// so a request never waits on the engine's boot. Throws (ending the process with the reason) when
    /// the boot fails or does not finish within <see cref="BootTimeout"/>.
    /// </summary>
    public static async Task BootAsync(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var dataPath = services.GetRequiredService<IOptions<ChDbOptions>>().Value.DataPath;
        Console.WriteLine($"Starting the chDB engine on '{dataPath}'");
        var elapsed = Stopwatch.StartNew();

        // chdb_connect cannot be interrupted, so the boot gets a thread of its own and only the wait is bounded.
        var boot = Task.Factory.StartNew(
            async () =>
            {
                var engine = services.GetRequiredService<ChDbAnalyticsStore>();
                await engine.RunAsync("SELECT 1"u8.ToArray(), "TabSeparated", null, null, write: true, CancellationToken.None);
                await engine.RunAsync("SELECT 1"u8.ToArray(), "TabSeparated", null, null, write: false, CancellationToken.None);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
        try
        {
            await boot.WaitAsync(BootTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException(
                $"The chDB engine on '{dataPath}' did not boot and answer 'SELECT 1' within {BootTimeout.TotalSeconds:0} s; " +
                "the stand-in gives up without listening.");
        }

        Console.WriteLine($"The chDB engine answered after {elapsed.ElapsedMilliseconds} ms");
    }

    /// <summary>Writes one <see cref="ListeningPrefix"/> line per address, with the real port when the configured one was 0.</summary>
    public static void AnnounceAddresses(IEnumerable<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        foreach (var address in addresses)
        {
            Console.WriteLine(ListeningPrefix + address);
        }
    }
}
