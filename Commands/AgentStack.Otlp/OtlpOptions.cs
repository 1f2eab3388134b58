namespace AgentStack.Otlp;

/// <summary>Configuration section <c>AgentStack:Otlp</c> (docs/otlp.md).</summary>
public sealed class OtlpOptions
{
    public const string Section = "AgentStack:Otlp";

    /// <summary>The cleartext HTTP/2 port of OTLP/gRPC; 4317 (the OTLP default) unless set; 0 turns gRPC off.</summary>
    public int GrpcPort { get; set; } = 4317;

    /// <summary>True when <see cref="GrpcPort"/> came from configuration rather than the default.</summary>
    public bool GrpcPortConfigured { get; set; }

    /// <summary>A JSON price table that extends or overrides the shipped one (same shape; may add per-project entries).</summary>
    public string? PriceTablePath { get; set; }
}
