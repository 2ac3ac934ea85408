"""Demo data: a deterministic regional archives (generator) and `lantai demo` seeding (seed)."""
