namespace AgentStack.EndToEndTests.Distributed;

/// <summary>The RabbitMQ that scripts/services.sh starts (test.sh does it before the tests).</summary>
public static class RabbitMq
{
    /// <summary>Tests that use the shared broker run one after another: one of them stops it.</summary>
    public const string Collection = "rabbitmq";

    /// <summary>Runs scripts/services.sh with a command (rabbitmq-pause, rabbitmq-resume).</summary>
    public static async Task ServicesAsync(string command)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentStack.sln")))
            directory = directory.Parent;
        using var process = System.Diagnostics.Process.Start(Path.Combine(directory!.FullName, "scripts", "services.sh"), [command]);
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0, $"scripts/services.sh {command}");
    }

    public static string ConnectionString =>
        Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") is { Length: > 0 } configured
            ? configured
            : "amqp://guest:guest@127.0.0.1:5673/";

    /// <summary>RabbitMQ settings with queues of their own (a fresh prefix), so no other server consumes them.</summary>
    public static Dictionary<string, string> BusSettings(string? queuePrefix = null) => new()
    {
        ["AgentStack__Bus__Transport"] = "RabbitMq",
        ["ConnectionStrings__RabbitMq"] = ConnectionString,
        ["AgentStack__Bus__QueuePrefix"] = queuePrefix ?? "t" + Guid.NewGuid().ToString("N")[..8],
    };
}

[CollectionDefinition(RabbitMq.Collection, DisableParallelization = true)]
public sealed class RabbitMqCollection;
