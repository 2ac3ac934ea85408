"""The pure parts: kinds and scopes from the data file, accession numbers, masked ID numbers."""

from __future__ import annotations

from lantai.standards import accessions as std


def test_kinds_and_scopes_come_from_the_data_file() -> None:
    assert std.kinds() == ["捐赠", "征购", "代存", "复制", "移交"]
    assert std.restriction_scopes() == ["access", "publication", "reproduction"]


def test_numbers_round_trip_and_grow_past_four_digits() -> None:
    assert std.accession_number(2026, 1) == "ZJ-2026-0001"
    assert std.accession_number(2026, 12345) == "ZJ-2026-12345"
    assert std.number_sequence("ZJ-2026-12345") == (2026, 12345)
    assert std.number_sequence("ZJ-26-1") is None and std.number_sequence("档-2026-0001") is None


def test_short_id_numbers_are_masked_too() -> None:
    assert std.mask_id_number("G12345678") == "G****5678"
    assert std.mask_id_number(" 91450100MA5KXXXX7Q ") == "914***********XX7Q"
