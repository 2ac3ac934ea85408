"""Demo data: a deterministic regional archives (generator: the plan; rows, words, writers) and
`lantai demo` seeding (seed)."""
