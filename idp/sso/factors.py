"""Whether a sign-in was multi-factor, in the terms of RFC 8176 (Authentication Method
Reference Values): a single sign-on session's ``amr`` holds ``mfa`` once the broker knows it
was, from the city's directory or from the broker's own second factor."""

from __future__ import annotations

from collections.abc import Iterable

MFA = "mfa"
# RFC 8176 section 2: factors beyond knowledge (something held, something one is).
POSSESSION = frozenset({"otp", "hwk", "swk", "sc", "sms", "tel", "pop"})
INHERENCE = frozenset({"fpt", "face", "iris", "retina", "vbm"})


def multi_factor(
    amr: Iterable[str], acr: str | None = None, strong_acr: Iterable[str] = ()
) -> bool:
    """Whether a directory's answer stands for a multi-factor sign-in: its ``amr`` says
    ``mfa``, or names two methods of which one is held or inherent (``pwd`` and ``otp``), or
    its ``acr`` is one the city lists as multi-factor (``second_factor_acr``)."""
    methods = set(amr)
    if MFA in methods or (acr is not None and acr in set(strong_acr)):
        return True
    return len(methods) >= 2 and bool(methods & (POSSESSION | INHERENCE))


def has_second_factor(amr: Iterable[str] | None) -> bool:
    """Whether a session's sign-in counts as multi-factor (its ``amr`` holds ``mfa``)."""
    return MFA in set(amr or ())
