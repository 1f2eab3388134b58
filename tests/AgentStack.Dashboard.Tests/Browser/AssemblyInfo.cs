// One demo fill per test assembly: the SDK's ActivityListeners are process-wide, so only one AgentStackClient
// may exist in a process at a time (docs/sdk.md). An assembly fixture is created once, before any test uses it.
[assembly: AssemblyFixture(typeof(AgentStack.Dashboard.Tests.Browser.DashboardFixture))]
