"""The SQL condition of a tag filter, shared by the qr_codes and barcodes queries."""

from __future__ import annotations


def tag_condition(account_param: str, tag_param: str) -> str:
    """ "Carries the tag", in the form the ``*_account_tags`` GIN indexes (migration 010)
    answer: the row's account-qualified tag keys contain this one."""
    return f"account_tag_keys(account_id, tags) @> ARRAY[{account_param} || chr(31) || {tag_param}]"
