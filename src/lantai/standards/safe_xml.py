"""The one way Lantai parses XML it did not write itself, or may have been altered since."""

from __future__ import annotations

from lxml import etree


def parser(
    *,
    huge_tree: bool = False,
    recover: bool = False,
    remove_comments: bool = False,
    remove_pis: bool = False,
) -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or reaches the network: no XXE, no
    entity expansion bombs, no fetching of schemas."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
        recover=recover,
        remove_comments=remove_comments,
        remove_pis=remove_pis,
    )
