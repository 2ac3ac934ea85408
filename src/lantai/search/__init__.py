"""用: search over the catalogue and the full text of electronic files, behind one interface with
two backends (tantivy embedded, PostgreSQL scale-out). The index is derived and rebuildable."""
