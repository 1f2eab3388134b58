namespace AgentStack.Testing;

/// <summary>Waits for a condition the test can observe, never for a fixed time (docs/style.md 7).</summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"condition not met within {timeout.TotalSeconds:0} s" + (describe is null ? "" : ":\n" + describe()));
            await Task.Delay(50);
        }
    }

    /// <summary>The same for a condition the test observes through a call, such as an HTTP request.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"condition not met within {timeout.TotalSeconds:0} s" + (describe is null ? "" : ":\n" + describe()));
            await Task.Delay(50);
        }
    }
}
