using System.Text.Json;

namespace AgentStack.Security;

internal static class SecurityJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
