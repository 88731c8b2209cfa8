"""The study's files: the SQLite store, the study lock, whole-or-absent writes."""
