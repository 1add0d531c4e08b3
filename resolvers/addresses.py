"""Postal addresses of orders: validated and normalised before anything is written.

Stored as JSON objects with snake_case keys (the REST names); every key is always present,
optional ones as "". `country` is an ISO 3166-1 alpha-2 code (upper-case); `state` is kept
as written and matched upper-case against the tax table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from resolvers.errors import Invalid

# snake_case key -> (GraphQL input field, label for messages, required, max length)
FIELDS: dict[str, tuple[str, str, bool, int]] = {
    "first_name": ("firstName", "first name", True, 100),
    "last_name": ("lastName", "last name", True, 100),
    "company": ("company", "company", False, 200),
    "address1": ("address1", "address line 1", True, 200),
    "address2": ("address2", "address line 2", False, 200),
    "city": ("city", "city", True, 100),
    "state": ("state", "state", False, 64),
    "postal_code": ("postalCode", "postal code", True, 20),
    "country": ("country", "country", True, 2),
    "phone_number": ("phoneNumber", "phone number", False, 32),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]*")
_PHONE = re.compile(r"[0-9+().\- xX]+")

COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW""".split()
)


def normalise_address(raw: Mapping[str, Any], which: str, label: str) -> dict[str, str]:
    """Trim, check required fields, lengths and formats; `which` is the input field
    (`shippingAddress`), `label` its name in messages (`Shipping address`)."""
    address: dict[str, str] = {}
    for key, (input_name, field_label, required, max_length) in FIELDS.items():
        path = ["input", which, input_name]
        value = raw.get(key)
        text = "" if value is None else str(value).strip()
        if required and not text:
            raise Invalid(f"{label}: {field_label} is required", path)
        if len(text) > max_length:
            raise Invalid(f"{label}: {field_label} must be at most {max_length} characters", path)
        if _CONTROL.search(text):
            raise Invalid(f"{label}: {field_label} must not contain control characters", path)
        address[key] = text
    country = address["country"].upper()
    if country not in COUNTRIES:
        raise Invalid(
            f"{label}: country must be an ISO 3166-1 alpha-2 code such as 'US'", ["input", which, "country"]
        )
    address["country"] = country
    if not _POSTAL_CODE.fullmatch(address["postal_code"]):
        raise Invalid(
            f"{label}: postal code may hold only letters, digits, spaces and hyphens",
            ["input", which, "postalCode"],
        )
    if address["phone_number"] and not _PHONE.fullmatch(address["phone_number"]):
        raise Invalid(f"{label}: phone number may hold only digits, spaces and + ( ) . - x",
                      ["input", which, "phoneNumber"])
    return address
