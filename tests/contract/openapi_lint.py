"""Checks the served OpenAPI document against the OpenAPI 3.1 specification with
openapi-spec-validator, and lists every problem found, grouped, one line per kind.

Usage: openapi_lint.py OPENAPI_URL

Exits 1 when the document is not valid OpenAPI 3.1.
"""

import sys
from collections import defaultdict

import requests
from openapi_spec_validator import OpenAPIV31SpecValidator


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    doc = requests.get(sys.argv[1], timeout=10).json()
    where = defaultdict(list)
    for error in OpenAPIV31SpecValidator(doc).iter_errors():
        path = " > ".join(str(p) for p in error.path)
        where[error.message.split("\n")[0][:160]].append(path)
    if not where:
        print("openapi: the document is valid OpenAPI 3.1")
        return 0
    total = sum(len(v) for v in where.values())
    print(f"openapi: the document is not valid OpenAPI 3.1 ({total} problems)")
    for message, paths in sorted(where.items(), key=lambda kv: -len(kv[1])):
        shown = [p for p in paths if p][:2]
        at = f" at {', '.join(shown)}{' …' if len(paths) > len(shown) else ''}" if shown else ""
        print(f"  {len(paths)}x {message}{at}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
