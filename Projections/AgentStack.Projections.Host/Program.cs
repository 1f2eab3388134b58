using AgentStack.Hosting;
using AgentStack.ServiceDefaults;

// Thin host: a projection worker; run several with AgentStack__Projections__Leases=Postgres and they share the log's parts.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentStack(AgentStackRoles.Projections);

var app = builder.Build();
app.MapAgentStack(AgentStackRoles.Projections);
app.Run();
