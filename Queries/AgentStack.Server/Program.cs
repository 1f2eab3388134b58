using AgentStack.Hosting;
using AgentStack.ServiceDefaults;

// The all-in-one server: every role in one process; adapters by configuration (embedded by default).
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentStack(AgentStackRoles.All);

var app = builder.Build();
app.MapAgentStack(AgentStackRoles.All);
app.Run();
