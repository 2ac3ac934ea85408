"""Chinese archival standards as data and pure functions (no Django, no other Lantai imports).

- ``archival_code``: DA/T 13-2022 / DA/T 22-2015 档号 rules: parse, build, gaps, duplicates.
- ``vocabularies``: 保管期限, 密级, 开放状态 and other controlled lists; dates; the
  25-year open date.
- ``metadata_profile``: the DA/T 46-2009 metadata elements M1–M88 and record validation.
- ``categories``: the DA/T 13 门类 codes.

Every list a standard enumerates lives in a YAML file under ``data/``; the modules load each once.
"""
