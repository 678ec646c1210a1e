"""Summarises a Schemathesis NDJSON report: the status codes each operation answered, and every 5xx
answer in full (method, path, query, body, answer), so a server error can be reproduced.

Usage: st_summary.py REPORT.ndjson LABEL

Exits 1 when any answer was a 5xx, whatever the checks said. Headers are not printed (they hold
the bearer token).
"""

import base64
import json
import sys
from collections import Counter, defaultdict


def body_text(part):
    if not part:
        return ""
    if "$base64" in part:
        raw = base64.b64decode(part["$base64"])
    else:
        raw = str(part.get("string", "")).encode()
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= 2000 else text[:2000] + "…"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, label = sys.argv[1], sys.argv[2]
    statuses = defaultdict(Counter)
    errors = []
    for line in open(path, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder", {})
        for interaction in recorder.get("interactions", {}).values():
            request, response = interaction.get("request", {}), interaction.get("response")
            operation = recorder.get("label", "?")
            if response is None:
                statuses[operation]["no answer"] += 1
                continue
            status = response["status_code"]
            statuses[operation][status] += 1
            if status >= 500:
                errors.append((operation, request, response))
    print(f"{label}: answers per operation")
    for operation in sorted(statuses):
        seen = " ".join(f"{s}x{n}" for s, n in sorted(statuses[operation].items(), key=lambda kv: str(kv[0])))
        print(f"  {operation}: {seen}")
    for operation, request, response in errors:
        print(f"{label}: SERVER ERROR in {operation}", file=sys.stderr)
        print(f"  request:  {request.get('method')} {request.get('uri')}", file=sys.stderr)
        print(f"  body:     {body_text(request.get('body'))}", file=sys.stderr)
        print(f"  answer:   {response['status_code']} {body_text(response.get('content'))}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
