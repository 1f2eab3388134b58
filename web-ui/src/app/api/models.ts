/** Shapes of the read API (Queries/AgentStack.Queries); field names follow the span JSON. */
export interface Identity { signedIn: boolean; project: string; scopes: string[]; method: 'link' | 'key'; }

export interface TraceSummary {
  traceId: string; name: string; startTime: string; endTime: string | null; durationMs: number | null;
  spanCount: number; openSpanCount: number; errorCount: number; inputTokens: number; outputTokens: number;
  costUsd: number; status: 'ok' | 'error' | 'running'; models: string[];
}
export interface TraceList { items: TraceSummary[]; next: string | null; }

export interface SpanView {
  traceId: string; spanId: string; parentSpanId: string | null; name: string; kind: string;
  startTime: string; endTime: string | null; durationMs?: number | null; status: string | null; statusMessage: string | null;
  model: string | null; provider: string | null; inputTokens: number | null; outputTokens: number | null; costUsd: number | null;
  input: unknown; output: unknown; attributes: unknown;
}
export interface TraceDetail { traceId: string; spans: SpanView[]; }

export interface Finding { traceId: string; spanId: string; kind: string; action: string; score: number; reason: string; detectedAt: string; }

/** One line of the replay endpoint: a stored event, its data exactly as recorded. */
export interface ReplayEvent {
  version: number; position: number; type: string; recordedAt: string; hash: string; prevHash: string | null;
  data: { project?: string; span?: SpanView; [key: string]: unknown };
  /** The event's JSON text as the server sent it: parsing rounds integers beyond 2^53 and reorders integer-like keys. */
  raw?: string;
}

export interface TimeRange { from: string; to: string; }

export interface UsagePoint { bucket: string; model: string; calls: number; inputTokens: number; outputTokens: number; costUsd: number; }
export interface UsageSeries { from: string; to: string; bucket: string; points: UsagePoint[]; }
export interface SecurityDay { day: string; anomalies: number; promptInjectionsBlocked: number; promptInjectionsDetected?: number; }
export interface SecuritySeries { from: string; to: string; totalFindings: number; days: SecurityDay[]; }
export interface LatencyPoint { traceId: string; name: string; startTime: string; externalMs: number; llmMs: number; status: string; }
export interface LatencyScatter { from: string; to: string; points: LatencyPoint[]; }
export interface ErrorRatePoint { bucket: string; traces: number; errors: number; errorRate: number; }
export interface ErrorRateSeries { from: string; to: string; bucket: string; points: ErrorRatePoint[]; }
export interface ModelLatency { model: string; calls: number; p50Ms: number; p95Ms: number; }
export interface ModelLatencyList { from: string; to: string; models: ModelLatency[]; }
export interface FilterOptions { models: string[]; kinds: string[]; }

export interface TraceQuery extends TimeRange {
  status?: string; model?: string; kind?: string; q?: string; cursor?: string | null; limit?: number; sessionId?: string; userId?: string;
  /** Only traces with a finding: `any` or a kind (issue 15.5). */
  finding?: string;
}

/**
 * A detector's finding (GET .../findings, issue 15.5). `sourcePosition` is the log position of the span event it was found
 * in (the Time Machine's step; 0 for a guard block, which belongs to no trace). `field` is the payload and JSON path.
 */
export interface FindingItem {
  position: number; sourcePosition: number; traceId: string; spanId: string; agent: string; kind: string; rule: string;
  severity: string; score: number; reason: string; field: string; start: number; length: number; action: string;
  detector: string; detectorVersion: string; detectedAt: string;
}
export interface FindingList { items: FindingItem[]; next: string | null; }
export interface FindingsQuery { from?: string; to?: string; kind?: string; severity?: string; agent?: string; traceId?: string; limit?: number; cursor?: string | null; }
export interface FindingsPoint { bucket: string; kind: string; severity: string; count: number; }
export interface FindingsOverTime { from: string; to: string; bucket: string; total: number; points: FindingsPoint[]; }

/** The live replay feed (issue 16): the events pushed so far, and whether the stream is still open. */
export interface ReplayFeed { events: ReplayEvent[]; live: boolean; }

/** A session (conversation) and its totals over its traces. */
export interface SessionSummary {
  sessionId: string; userIds: string[]; traceCount: number; errorCount: number; firstStart: string; lastStart: string;
  durationMs: number; inputTokens: number; outputTokens: number; costUsd: number;
}
export interface SessionList { items: SessionSummary[]; }
export interface SessionDetail { session: SessionSummary; traces: TraceSummary[]; }

/** Two runs step-aligned (GET .../compare?left=&right=). */
export interface RunTotals {
  traceId: string; name: string; startTime: string; durationMs: number; spanCount: number; errorCount: number;
  inputTokens: number; outputTokens: number; costUsd: number; rerunOf: string | null;
}
export interface AlignedStep { index: number; left: SpanView | null; right: SpanView | null; differences: string[]; }
export interface Divergence { index: number; field: string; label: string; }
export interface RunComparison {
  left: RunTotals; right: RunTotals; steps: AlignedStep[]; firstDivergence: Divergence | null;
  inputTokensDelta: number; outputTokensDelta: number; costUsdDelta: number; durationMsDelta: number;
}

/** The answer of POST /api/projects/{project}/subjects/{subject}/erase (docs/privacy.md). */
export interface SubjectErasure { subject: string; erasedAt: string; keysDestroyed: number; analyticsSpansErased: number; }
