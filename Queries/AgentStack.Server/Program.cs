using AgentStack.Commands.Access;
using AgentStack.Commands.Access.SigningIn;
using AgentStack.Commands.Spans.Ingesting;
using AgentStack.Otlp;
using AgentStack.Queries;
using AgentStack.Queries.Dashboard;
using AgentStack.Server;
using AgentStack.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddEmbeddedAgentStack();

var app = builder.Build();
app.MapServiceDefaults();
app.UseAuthentication();
app.UseAuthorization();
app.MapCollector();
app.MapOtlp();
app.MapQueries();
app.MapAccess();
app.MapDashboardSignIn();
app.MapDashboard();
app.Run();
