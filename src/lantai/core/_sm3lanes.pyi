from collections.abc import Sequence

def sm3_many(messages: Sequence[bytes | bytearray | memoryview], /) -> list[bytes]: ...

FAST: bool
