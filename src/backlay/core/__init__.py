"""The exchange core: pure, deterministic, no I/O, no clock, no randomness.

Commands in (stamped with their time by the sequencer), results and events out.
"""
