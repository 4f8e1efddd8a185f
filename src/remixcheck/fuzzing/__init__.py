"""Fuzzing: requests generated with schemathesis, fuzz cases, their judgement and tally, case files and replay."""
