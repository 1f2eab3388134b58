-- Where each projection has got to in the event log. Written after the batch's rows, so a crash in
-- between re-processes the batch, which the replacing engines absorb (docs/architecture.md, invariant 4).
CREATE TABLE IF NOT EXISTS agentstack.projection_checkpoints
(
    name String,
    position UInt64,
    updated_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(position)
ORDER BY name;
