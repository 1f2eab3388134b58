-- One row per span (issue 3). ReplacingMergeTree keyed by span, versioned by the global log position
-- of the event that produced the row: a completion replaces its start, and re-processing a batch after
-- a crash or a rebuild writes identical rows that collapse (read with FINAL).
-- Partitioned by the span's start month; a span's start never changes (the decider refuses that).
CREATE TABLE IF NOT EXISTS agentstack.spans
(
    project LowCardinality(String),
    trace_id String,
    span_id String,
    parent_span_id String,
    name String,
    kind LowCardinality(String),
    start_time DateTime64(6, 'UTC'),
    end_time Nullable(DateTime64(6, 'UTC')),
    duration_ms Nullable(Float64),
    status LowCardinality(String),
    status_message String,
    model LowCardinality(String),
    provider LowCardinality(String),
    input_tokens Nullable(Int64),
    output_tokens Nullable(Int64),
    cost_usd Nullable(Decimal(18, 9)),
    -- LZ4 (the default) rather than ZSTD: merges rewrite these columns, and ingestion is CPU-bound.
    input Nullable(String),
    output Nullable(String),
    attributes Nullable(String),
    received_at DateTime64(6, 'UTC'),
    position UInt64,
    -- Issue 17.3 (docs/retention.md): the project's retention in days, 0 for none (kept). Written by the
    -- projection from the policy; a changed policy is brought into every row by a mutation.
    retention_days UInt16 DEFAULT 0
)
ENGINE = ReplacingMergeTree(position)
PARTITION BY toYYYYMM(start_time)
ORDER BY (project, trace_id, span_id)
TTL toDateTime(least(start_time + toIntervalDay(retention_days), toDateTime64('2106-01-01 00:00:00', 6, 'UTC'))) WHERE retention_days > 0
-- The TTL's end is computed in DateTime64 (years 1900-2299) and capped below DateTime's end (2106-02-07), where
-- toDateTime(start_time) + a long policy would wrap round to 1970 and expire the row at once.
-- Merges wait for more small parts before rewriting a large one (the default, 5, rewrote every row about 7
-- times in a minute of ingestion and cost a tenth of the CPU; BENCHMARKS.md). Existing tables: SpansSchema.TuneMergesAsync.
SETTINGS merge_selector_base = 16;
