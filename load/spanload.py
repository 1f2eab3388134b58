"""For the Python load client (load/long-trace.py): the span text of load/spans.lua, so it sends spans of the same
size as wrk and load/fixed-rate, and the percentile it reports."""

FILLER = "The quick brown fox jumps over the lazy dog. " * 6
KINDS = ["agent", "llm", "tool", "llm", "retrieval", "llm", "tool", "llm", "chain", "llm"]


def percentile(values, p):
    """The p-th percentile by rank (nearest rank, no interpolation); NaN for no values."""
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")
