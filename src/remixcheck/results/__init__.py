"""The results of a run as data (what conformance and fuzzing write and the report reads), and short ids for display."""
