"""收: receiving transfers from filing units and the DA/T 70 four-properties check (四性检测).

The check pipeline (unpack → inventory → fixity → formats → virus → metadata → package) works on
plain files and data classes, so `lantai transfer check` runs it without registering anything.
"""
