"""Models of the operations room (alert deliveries); see lantai.ops.alerts."""
