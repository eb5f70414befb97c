"""Unique Pupil Number rules: format and check letter.

Source: CBDS item 100001 and the DfE "Unique Pupil Number 2.0" data standard, as summarised in
shared/domain/formats.md section 3. Weights 2..13 over characters 2..13, sum modulo 23, mapped
through the 23-letter alphabet without I, O and S.
"""

from __future__ import annotations

import re

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"

_PERMANENT = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{12}$")
_TEMPORARY = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[A-HJ-NP-RT-Z]$")


def check_letter(body: str) -> str:
    """The check letter for the 12 characters that follow it in a UPN."""
    if len(body) != 12:
        raise ValueError("a UPN body has 12 characters")
    total = 0
    for weight, char in zip(range(2, 14), body, strict=True):
        if char.isdigit():
            value = int(char)
        else:
            value = CHECK_ALPHABET.index(char)
        total += weight * value
    return CHECK_ALPHABET[total % 23]


def is_temporary(upn: str) -> bool:
    """True when the UPN has the temporary shape (a letter in the last place)."""
    return bool(_TEMPORARY.match(upn))


def is_well_formed(upn: str) -> bool:
    """True when the UPN has the permanent or temporary shape (check letter not checked)."""
    return bool(_PERMANENT.match(upn) or _TEMPORARY.match(upn))


def is_valid(upn: str) -> bool:
    """True when the UPN is well formed and its check letter is right."""
    return is_well_formed(upn) and upn[0] == check_letter(upn[1:])


def make_upn(la_code: str, estab: str, year_of_issue: int, serial: int) -> str:
    """A permanent UPN for an LA, establishment, year of issue and serial, with its check letter."""
    body = f"{la_code:0>3}{estab:0>4}{year_of_issue % 100:02d}{serial:03d}"
    if len(body) != 12 or not body.isdigit():
        raise ValueError(
            f"cannot make a UPN from {la_code!r}, {estab!r}, {year_of_issue}, {serial}"
        )
    return check_letter(body) + body
