"""Schemathesis hooks for tests/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

- A strategy for the `Decimal` scalar, which schemathesis does not know.
- `no_internal_error`, the check the GraphQL run uses instead of schemathesis' own
  not_a_server_error: that one counts every top-level error with a path as a server failure,
  while this schema answers expected refusals (NOT_FOUND, FORBIDDEN, ...) with coded errors.
  Here a failure is what a bug looks like: a 5xx, a body that is not a GraphQL response, or
  an error coded INTERNAL_SERVER_ERROR (an unexpected exception the server masked).
"""

from __future__ import annotations

import json

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(min_value=-2, max_value=2, places=6, allow_nan=False, allow_infinity=False)
    .map(lambda value: nodes.String(format(value, "f"))),
)


@schemathesis.check
def no_internal_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:500]}")
    try:
        body = json.loads(response.text)
    except ValueError:
        raise AssertionError(f"not JSON ({response.headers.get('content-type')}): {response.text[:200]}") from None
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        raise AssertionError(f"not a GraphQL response: {response.text[:200]}")
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if not code:
            raise AssertionError(f"an error without extensions.code: {error}")
        if code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"masked internal error: {error}")
