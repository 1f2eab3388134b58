using AgentStack.Hosting;
using AgentStack.ServiceDefaults;

// Thin host: the query API, the project and key admin API and the dashboard.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentStack(AgentStackRoles.Queries);

var app = builder.Build();
app.MapAgentStack(AgentStackRoles.Queries);
app.Run();
