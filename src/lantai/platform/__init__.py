"""全区档案查询“一网通办”: the region-wide platform over every archives' own Lantai.

Every archives is a node; the provincial archives also runs the hub (one installation may be
both). Nodes and hub sign every message with their SM2 keys and keep every message in an
append-only, hash-chained log (log.py); the hub publishes a signed member list (members.py),
harvests a thin index from every node (harvest.py, hub_index.py) and routes nothing itself:
requests go from the receiving node to the holding node directly (requests.py)."""
