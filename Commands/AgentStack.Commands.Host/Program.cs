using AgentStack.Hosting;
using AgentStack.ServiceDefaults;

// Thin host: the collector (/v1/spans, OTLP/HTTP and OTLP/gRPC) and the RecordSpans handlers; run more of them to scale handlers, or set AgentStack__Bus__RunHandlers=false for a collector only.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddAgentStack(AgentStackRoles.Commands);

var app = builder.Build();
app.MapAgentStack(AgentStackRoles.Commands);
app.Run();
