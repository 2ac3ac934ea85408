"""用: the public portal (公众查档), access requests (查档申请) and the use register (利用登记)."""
