"""Durable storage for the sequencer: the command journal and state snapshots."""

from .journal import Journal, JournalCorrupt, JournalEntry
from .sqlite import SqliteJournal

__all__ = ["Journal", "JournalCorrupt", "JournalEntry", "SqliteJournal"]
