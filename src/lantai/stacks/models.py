"""库房管理: buildings, rooms, shelves and boxes, where each physical unit is, its movements, stack
censuses and the climate readings of each room."""
