using AgentStack.Projections.Analytics;
using AgentStack.Projections.Analytics.ChDb;

namespace AgentStack.Analytics.Tests;

public sealed class when_the_library_is_located
{
    [Fact]
    public void then_the_repository_copy_from_setup_chdb_is_found()
    {
        var path = ChDbLibrary.Resolve();

        File.Exists(path).ShouldBeTrue();
        Path.GetFileName(path).ShouldBe(ChDbLibrary.FileName);
    }

    [Fact]
    public void then_a_configured_path_that_does_not_exist_says_what_to_run()
    {
        var error = Should.Throw<AnalyticsException>(() => ChDbLibrary.Resolve("/nowhere/libchdb.so"));

        error.Message.ShouldContain("scripts/setup-chdb.sh");
        error.Message.ShouldContain("/nowhere/libchdb.so");
    }
}
