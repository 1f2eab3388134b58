using System.Text;
using Xunit;

namespace AgentStack.Testing;

/// <summary>Where a test suite leaves the counts a person (and the issue note) reads: <c>AGENTSTACK_TEST_REPORT_DIR</c>, printed by test.sh.</summary>
public static class TestReport
{
    public static void Write(string name, string text)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        if (Environment.GetEnvironmentVariable("AGENTSTACK_TEST_REPORT_DIR") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            File.AppendAllText(Path.Combine(directory, name + ".txt"), text + "\n", Encoding.UTF8);
        }
    }
}
