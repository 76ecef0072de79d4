"""The eight XML signature wrapping placements as SAML Raider (CompassSecurity/SAMLRaider,
helpers/XSWHelpers.java) applies them, after "On Breaking SAML: Be Whoever You Want to Be"
(Somorovsky et al., 2012), done with lxml on a validly signed Response.

XSW1 and XSW2 need a signed Response, XSW3 to XSW8 a signed Assertion. ``evil`` is SAML Raider's
"match and replace": what the attacker changes in the copy the SP should be fooled into reading.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

from lxml import etree

from tests.federation.saml.peer import NS

Evil = Callable[[etree._Element], None]


def _signature(element: etree._Element) -> etree._Element:
    """getElementsByTagNameNS("*", "Signature").item(0): the first in document order."""
    return next(element.iter(f"{{{NS['ds']}}}Signature"))


def _assertion(root: etree._Element) -> etree._Element:
    return next(root.iter(f"{{{NS['saml']}}}Assertion"))


def _drop(element: etree._Element) -> None:
    element.getparent().remove(element)


def xsw1(root: etree._Element, evil: Evil) -> None:
    """The signed Response, signature removed, inside the Signature of an evil Response."""
    clone = deepcopy(root)
    evil(root)
    _drop(_signature(clone))
    _signature(root).append(clone)
    root.set("ID", "_evil_response_ID")


def xsw2(root: etree._Element, evil: Evil) -> None:
    """As XSW1, but the signed Response goes before the Signature (a detached signature)."""
    clone = deepcopy(root)
    evil(root)
    _drop(_signature(clone))
    _signature(root).addprevious(clone)
    root.set("ID", "_evil_response_ID")


def xsw3(root: etree._Element, evil: Evil) -> None:
    """An unsigned evil Assertion before the signed one."""
    assertion = _assertion(root)
    copy = deepcopy(assertion)
    evil(copy)
    copy.set("ID", "_evil_assertion_ID")
    copy.remove(copy.find("ds:Signature", NS))
    assertion.addprevious(copy)


def xsw4(root: etree._Element, evil: Evil) -> None:
    """The signed Assertion moved inside an unsigned evil Assertion."""
    assertion = _assertion(root)
    copy = deepcopy(assertion)
    evil(copy)
    copy.set("ID", "_evil_assertion_ID")
    copy.remove(copy.find("ds:Signature", NS))
    root.append(copy)
    copy.append(assertion)


def xsw5(root: etree._Element, evil: Evil) -> None:
    """The signed Assertion changed in place (keeping its Signature); an untouched copy,
    without signature, appended to the Response."""
    assertion = _assertion(root)
    copy = deepcopy(assertion)
    evil(assertion)
    copy.remove(copy.find("ds:Signature", NS))
    root.append(copy)
    assertion.set("ID", "_evil_assertion_ID")


def xsw6(root: etree._Element, evil: Evil) -> None:
    """As XSW5, but the untouched copy goes inside the changed Assertion's Signature."""
    assertion = _assertion(root)
    signature = assertion.find("ds:Signature", NS)
    copy = deepcopy(assertion)
    evil(assertion)
    copy.remove(copy.find("ds:Signature", NS))
    signature.append(copy)
    assertion.set("ID", "_evil_assertion_ID")


def xsw7(root: etree._Element, evil: Evil) -> None:
    """An evil copy (same ID, no signature) inside an Extensions element before the Assertion."""
    assertion = _assertion(root)
    extensions = etree.Element("Extensions")
    assertion.addprevious(extensions)
    copy = deepcopy(assertion)
    evil(copy)
    copy.remove(copy.find("ds:Signature", NS))
    extensions.append(copy)


def xsw8(root: etree._Element, evil: Evil) -> None:
    """The Assertion changed in place; the untouched copy in an Object inside its Signature."""
    assertion = _assertion(root)
    signature = assertion.find("ds:Signature", NS)
    copy = deepcopy(assertion)
    evil(assertion)
    copy.remove(copy.find("ds:Signature", NS))
    holder = etree.SubElement(signature, "Object")
    holder.append(copy)


WRAPPINGS = {
    "XSW1": xsw1,
    "XSW2": xsw2,
    "XSW3": xsw3,
    "XSW4": xsw4,
    "XSW5": xsw5,
    "XSW6": xsw6,
    "XSW7": xsw7,
    "XSW8": xsw8,
}
