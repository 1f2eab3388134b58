-- One row per trace (issue 13.4: the projection writes once). Each projection batch inserts, per trace it
-- touches, a partial summary of that batch's events only; AggregatingMergeTree merges the partials (and
-- FINAL merges the parts not merged yet), so the projection never reads spans back. Every stored column
-- merges with an idempotent function (min, max, maxMap): a batch applied twice, or in any order across
-- parts, gives the same row, and a rebuild from 0 gives exactly the incremental rows (invariant 4).
-- A span has at most two events, started then completed, and the completed one must win: in `spans`
-- every value carries the event's phase above it (started 1, completed 2), so maxMap keeps, per span id,
-- the completed event's value. Readers use the ALIAS columns, which keep the shape the trace list had.
-- The earlier table (ReplacingMergeTree, recomputed from spans FINAL) is created under its own name
-- by nothing any more; see docs/projections.md for the switch.
CREATE TABLE IF NOT EXISTS agentstack.traces
(
    project LowCardinality(String),
    trace_id String,
    start_time SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    end_time SimpleAggregateFunction(max, Nullable(DateTime64(6, 'UTC'))),
    -- The trace's name is its root span's (no parent first, then the earliest start).
    root SimpleAggregateFunction(min, Tuple(UInt8, DateTime64(6, 'UTC'), String)),
    -- Per span id: state (phase * 2 + is error), input and output tokens and cost in nano-dollars
    -- (each phase << 64 | the value as UInt64), and the model prefixed by the phase digit.
    spans SimpleAggregateFunction(maxMap, Tuple(Array(String), Array(UInt8), Array(UInt128), Array(UInt128), Array(UInt128), Array(String))),
    position SimpleAggregateFunction(max, UInt64),
    -- Issue 17.3 (docs/retention.md): as in spans; a partial row expires with its own earliest start.
    retention_days SimpleAggregateFunction(max, UInt16) DEFAULT 0,
    name String ALIAS root.3,
    duration_ms Nullable(Float64) ALIAS if(end_time IS NULL, NULL, dateDiff('microsecond', start_time, assumeNotNull(end_time)) / 1000.0),
    span_count UInt32 ALIAS length(spans.1),
    open_span_count UInt32 ALIAS arrayCount(s -> s < 4, spans.2),
    error_count UInt32 ALIAS arrayCount(s -> s % 2 = 1, spans.2),
    input_tokens Int64 ALIAS arraySum(arrayMap(v -> reinterpretAsInt64(toUInt64(bitAnd(v, 18446744073709551615))), spans.3)),
    output_tokens Int64 ALIAS arraySum(arrayMap(v -> reinterpretAsInt64(toUInt64(bitAnd(v, 18446744073709551615))), spans.4)),
    cost_usd Decimal(18, 9) ALIAS toDecimal64(toDecimal128(arraySum(arrayMap(v -> reinterpretAsInt64(toUInt64(bitAnd(v, 18446744073709551615))), spans.5)), 9) / 1000000000, 9),
    models Array(String) ALIAS arraySort(arrayDistinct(arrayFilter(m -> m != '', arrayMap(m -> substring(m, 2), spans.6))))
)
ENGINE = AggregatingMergeTree
ORDER BY (project, trace_id)
TTL toDateTime(least(start_time + toIntervalDay(retention_days), toDateTime64('2106-01-01 00:00:00', 6, 'UTC'))) WHERE retention_days > 0
-- The TTL's end is computed in DateTime64 (years 1900-2299) and capped below DateTime's end (2106-02-07), where
-- toDateTime(start_time) + a long policy would wrap round to 1970 and expire the row at once.
-- Merges wait for more small parts before rewriting a large one (the default, 5, rewrote every row about 7
-- times in a minute of ingestion and cost a tenth of the CPU; BENCHMARKS.md). Existing tables: SpansSchema.TuneMergesAsync.
SETTINGS merge_selector_base = 16;
