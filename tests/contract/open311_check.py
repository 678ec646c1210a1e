"""Open311 GeoReport v2 contract check against a running `q10 serve`.

The `georeport` client from PyPI reads services, a service definition and requests, in JSON and in
XML. It cannot file a request nor resolve a token, and knows neither discovery nor mySociety's
updates, so those calls are plain HTTP with `requests`. Every JSON answer is validated against the
schemas in open311/ (written by us from the specification), and every XML answer is parsed with the
standard library and its element names checked.

Usage: GEOREPORT_API_KEY=KEY open311_check.py BASE_URL
(the variable `georeport` itself reads, so the key stays out of the process list)

Prints one line per check and never prints a request's body: the filed request carries an email
address, which must not reach a log.
"""

import json
import os
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import requests
from georeport import GeoReport

SCHEMAS = Path(__file__).resolve().parent / "open311"
TIMEOUT = 10

# The filed request. The contact address is test data, and is still kept out of every message.
LAT, LONG = 10.7725, 106.66725
DESCRIPTION = "Rác sinh hoạt chưa được thu gom trên vỉa hè (contract test)"
EMAIL = "open311.contract@example.org"

FORMATS = jsonschema.FormatChecker(formats=())
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


@FORMATS.checks("date-time", raises=ValueError)
def is_rfc3339(value):
    """ISO 8601 as profiled by RFC 3339: date, time and a time zone, all required."""
    if not isinstance(value, str):
        return True
    m = RFC3339.match(value)
    if not m:
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with a time zone")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    datetime(y, mo, d, h, mi, min(s, 59))
    if s > 60:
        raise ValueError(f"{value!r} has no such second")
    return True


@FORMATS.checks("uri", raises=ValueError)
def is_absolute_uri(value):
    if not isinstance(value, str):
        return True
    parts = urllib.parse.urlsplit(value)
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an absolute URI")
    return True


class Failed(Exception):
    pass


class Checks:
    """Counts what passed and what failed. A failed expectation is recorded and the run goes on; a
    malformed answer raises `Failed`, which ends the group of checks that needed it."""

    def __init__(self):
        self.passed = 0
        self.failures = []

    def ok(self, what):
        self.passed += 1
        print(f"  ok    {what}")

    def fail(self, what):
        self.failures.append(what)
        print(f"  FAIL  {what}")

    def expect(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(f"{what}{' (' + detail + ')' if detail else ''}")
        return cond


def load_validator(name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=FORMATS)


VALIDATORS = {
    name: load_validator(name)
    for name in (
        "discovery",
        "service-list",
        "service-definition",
        "service-requests",
        "request-created",
        "token",
        "errors",
        "request-updates",
    )
}


def short(text, n=300):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= n else text[:n] + "…"


HCMC = timezone(timedelta(hours=7), "ICT")


def window(at, zone, zulu=False):
    """start_date and end_date an hour either side of `at`, written in `zone`."""
    def stamp(t):
        t = t.astimezone(zone)
        return t.strftime("%Y-%m-%dT%H:%M:%SZ") if zulu else t.isoformat(timespec="seconds")

    return {"start_date": stamp(at - timedelta(hours=1)), "end_date": stamp(at + timedelta(hours=1))}


def query(params):
    return "&".join(f"{k}={v}" for k, v in params.items())


def describe(resp):
    return f"{resp.request.method} {urllib.parse.urlsplit(resp.url).path} answered {resp.status_code}"


class Open311:
    def __init__(self, base, api_key, checks):
        self.root = base.rstrip("/") + "/open311/v2"
        self.api_key = api_key
        self.c = checks
        self.http = requests.Session()

    # --- plumbing --------------------------------------------------------------------------------

    def get(self, path, **params):
        return self.http.get(f"{self.root}/{path}", params=params or None, timeout=TIMEOUT)

    def post(self, path, form):
        # Sent as application/x-www-form-urlencoded, as GeoReport v2 says.
        return self.http.post(f"{self.root}/{path}", data=form, timeout=TIMEOUT)

    def json_answer(self, resp, schema, status=200):
        """Checks status, media type and schema of a JSON answer, and returns its body."""
        where = describe(resp)
        if resp.status_code != status:
            raise Failed(f"{where}, expected {status}; body: {short(resp.text)}")
        ctype = resp.headers.get("content-type", "")
        if not ctype.startswith("application/json"):
            raise Failed(f"{where} with content-type {ctype!r}, expected application/json")
        try:
            body = resp.json()
        except ValueError as e:
            raise Failed(f"{where} with a body that is not JSON: {e}") from None
        errors = sorted(VALIDATORS[schema].iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {short(e.message, 200)}" for e in errors[:10]]
            raise Failed(f"{where}: the answer does not match {schema}.schema.json:\n    " + "\n    ".join(lines))
        self.c.ok(f"{where}, valid against {schema}.schema.json")
        return body

    def xml_answer(self, resp, root, item=None, status=200):
        """Checks status, media type and element names of an XML answer, and returns its root."""
        where = describe(resp)
        if resp.status_code != status:
            raise Failed(f"{where}, expected {status}; body: {short(resp.text)}")
        ctype = resp.headers.get("content-type", "")
        if not (ctype.startswith("text/xml") or ctype.startswith("application/xml")):
            raise Failed(f"{where} with content-type {ctype!r}, expected text/xml")
        try:
            doc = ET.fromstring(resp.content)
        except ET.ParseError as e:
            raise Failed(f"{where} with XML that does not parse: {e}") from None
        if doc.tag != root:
            raise Failed(f"{where} with root element <{doc.tag}>, expected <{root}>")
        if item is not None:
            others = sorted({child.tag for child in doc if child.tag != item})
            if others:
                raise Failed(f"{where}: <{root}> holds {others}, expected only <{item}>")
        self.c.ok(f"{where}, XML <{root}>" + (f" of <{item}>" if item else ""))
        return doc

    def error_answer(self, resp, status, fmt="json"):
        """An Open311-shaped error: [{"code", "description"}] or <errors><error>…"""
        if fmt == "json":
            body = self.json_answer(resp, "errors", status)
            self.c.expect(body[0]["code"] == status, f"error code {status} in the body", short(body))
            return body[0]["description"]
        doc = self.xml_answer(resp, "errors", "error", status)
        first = doc.find("error")
        if first is None:
            raise Failed(f"{describe(resp)} with an empty <errors>")
        code = first.findtext("code")
        self.c.expect(code == str(status), f"<code>{status}</code> in the XML error", repr(code))
        self.c.expect(bool(first.findtext("description")), "a <description> in the XML error")
        return first.findtext("description")

    def soft(self, check, *args, **kwargs):
        """Runs one check whose failure should not stop the checks after it."""
        try:
            return check(*args, **kwargs)
        except Failed as e:
            self.c.fail(str(e))
            return None

    # --- the checks ------------------------------------------------------------------------------

    def discovery(self):
        d = self.json_answer(self.get("discovery.json"), "discovery")
        urls = [e["url"] for e in d["endpoints"]]
        self.c.expect(self.root in urls, "discovery names this endpoint", short(urls))
        doc = self.xml_answer(self.get("discovery.xml"), "discovery")
        names = [e.tag for e in doc.findall("endpoints/endpoint")]
        self.c.expect(names, "discovery XML has endpoints/endpoint")
        formats = [f.text for f in doc.findall("endpoints/endpoint/formats/format")]
        self.c.expect("text/xml" in formats, "discovery XML offers text/xml", short(formats))

    def services(self, client, client_xml):
        listed = client.get_service_list()
        if not VALIDATORS["service-list"].is_valid(listed):
            raise Failed("georeport's service list does not match service-list.schema.json")
        codes = [s["service_code"] for s in listed]
        self.c.expect("garbage" in codes, "georeport lists the services, garbage among them", short(codes))
        self.json_answer(self.get("services.json"), "service-list")
        doc = self.xml_answer(self.get("services.xml"), "services", "service")
        xml_codes = [s.findtext("service_code") for s in doc.findall("service")]
        self.c.expect(xml_codes == codes, "services XML lists the same codes as JSON", short(xml_codes))
        via_xml = client_xml.get_service_list()
        via_xml = via_xml if isinstance(via_xml, list) else [via_xml]
        self.c.expect([s["service_code"] for s in via_xml] == codes, "georeport in XML mode reads the same services")

        definition = client.get_service_definition("garbage")
        if not VALIDATORS["service-definition"].is_valid(definition):
            raise Failed("georeport's service definition does not match service-definition.schema.json")
        self.c.expect(definition["service_code"] == "garbage", "georeport reads the garbage service definition")
        self.json_answer(self.get("services/garbage.json"), "service-definition")
        doc = self.xml_answer(self.get("services/garbage.xml"), "service_definition")
        self.c.expect(doc.findtext("service_code") == "garbage", "service definition XML names its service_code")
        unexpected = sorted({e.tag for e in doc} - {"service_code", "attributes"})
        self.c.expect(not unexpected, "service definition XML holds only service_code and attributes",
                      short(unexpected))
        self.c.expect(client_xml.get_service_definition("garbage")["service_code"] == "garbage",
                      "georeport in XML mode reads the service definition")

        try:
            client.get_service_definition("no-such-service")
            raise Failed("georeport got a definition for an unknown service")
        except requests.HTTPError as e:
            self.c.expect(e.response.status_code == 404, "georeport gets 404 for an unknown service",
                          str(e.response.status_code))
        self.soft(self.error_answer, self.get("services/no-such-service.json"), 404)
        self.soft(self.error_answer, self.get("services/no-such-service.xml"), 404, "xml")

    def file_request(self):
        """Files the request (JSON answer), and a second one with an XML answer; returns id and token."""
        form = {
            "api_key": self.api_key,
            "service_code": "garbage",
            "lat": str(LAT),
            "long": str(LONG),
            "description": DESCRIPTION,
            "email": EMAIL,
        }
        created = self.json_answer(self.post("requests.json", form), "request-created", 201)
        first = created[0]
        self.c.expect("service_request_id" in first and "token" in first,
                      "POST requests.json answers with service_request_id and token")
        doc = self.xml_answer(self.post("requests.xml", form), "service_requests", "request", 201)
        self.c.expect(bool(doc.findtext("request/service_request_id")),
                      "POST requests.xml answers with a service_request_id")
        return first["service_request_id"], first["token"], doc.findtext("request/service_request_id")

    def read_request(self, client, client_xml, rid, token, rid_xml):
        one = client.get_service_request(rid)
        self.json_answer(self.get(f"requests/{rid}.json"), "service-requests")
        if not VALIDATORS["service-requests"].is_valid([one]):
            raise Failed("georeport's request does not match service-requests.schema.json")
        self.c.expect(one["service_request_id"] == rid, "georeport reads the request by id")
        self.c.expect(one["service_code"] == "garbage" and one["status"] == "open",
                      "the request is an open garbage request", f"{one['service_code']}, {one['status']}")
        self.c.expect(one.get("description") == DESCRIPTION, "the request keeps its description")
        self.c.expect(abs(one["lat"] - LAT) < 1e-6 and abs(one["long"] - LONG) < 1e-6, "the request keeps lat and long")
        raw = self.get(f"requests/{rid}.json").text + self.get(f"requests/{rid}.xml").text
        self.c.expect(EMAIL not in raw and "example.org" not in raw, "the citizen's email is never shown")
        doc = self.xml_answer(self.get(f"requests/{rid}.xml"), "service_requests", "request")
        self.c.expect(doc.findtext("request/service_request_id") == rid, "request XML carries the id")
        self.c.expect(client_xml.get_service_request(rid_xml)["service_request_id"] == rid_xml,
                      "georeport in XML mode reads the request filed with an XML answer")

        tok = self.json_answer(self.get(f"tokens/{token}.json"), "token")
        self.c.expect(tok[0].get("service_request_id") == rid, "the token leads to the request id")
        doc = self.xml_answer(self.get(f"tokens/{token}.xml"), "service_requests", "request")
        self.c.expect(doc.findtext("request/service_request_id") == rid, "token XML leads to the request id")

        self.soft(self.error_answer, self.get("requests/987654321.json"), 404)
        self.soft(self.error_answer, self.get("requests/987654321.xml"), 404, "xml")
        self.soft(self.error_answer, self.get("tokens/no-such-token.json"), 404)
        self.soft(self.error_answer, self.get("tokens/no-such-token.xml"), 404, "xml")

    def list_requests(self, client, client_xml, rid):
        def ids(answer):
            return {r["service_request_id"] for r in answer}

        now = datetime.now(timezone.utc)
        listed = client.get_service_requests()
        if not VALIDATORS["service-requests"].is_valid(listed):
            raise Failed("georeport's request list does not match service-requests.schema.json")
        self.c.expect(rid in ids(listed), "georeport lists requests, the new one among them")
        # The second the request was filed in, without its fraction: a window starting there holds
        # it, and one ending there does not.
        filed = re.sub(r"\.\d+", "", client.get_service_request(rid)["requested_datetime"])

        cases = [
            ({"service_code": "garbage"}, True),
            ({"service_code": "noise"}, False),
            ({"status": "open"}, True),
            ({"status": "closed"}, False),
            ({"service_request_id": rid}, True),
            (window(now, timezone.utc), True),
            (window(now, HCMC), True),
            (window(now - timedelta(days=30), timezone.utc, zulu=True), False),
            ({"start_date": filed}, True),
            ({"end_date": filed}, False),
        ]
        for params, present in cases:
            got = client.get_service_requests(**params)
            if not VALIDATORS["service-requests"].is_valid(got):
                raise Failed(f"requests.json?{query(params)} does not match service-requests.schema.json")
            self.c.expect((rid in ids(got)) == present,
                          f"requests filtered by {query(params)} {'include' if present else 'exclude'} it")
            self.json_answer(self.get("requests.json", **params), "service-requests")
        doc = self.xml_answer(self.get("requests.xml", service_code="garbage"), "service_requests", "request")
        self.c.expect(rid in {r.findtext("service_request_id") for r in doc.findall("request")},
                      "requests XML filtered by service_code includes it")
        via_xml = client_xml.get_service_requests(service_code="garbage")
        via_xml = via_xml if isinstance(via_xml, list) else [via_xml]
        self.c.expect(rid in ids(via_xml), "georeport in XML mode lists it")

        self.soft(self.error_answer, self.get("requests.json", status="pending"), 400)
        self.soft(self.error_answer, self.get("requests.json", start_date="2026-01-01T00:00:00"), 400)
        self.soft(self.error_answer, self.get("requests.xml", end_date="yesterday"), 400, "xml")
        backwards = {"start_date": now.isoformat(), "end_date": (now - timedelta(days=1)).isoformat()}
        self.soft(self.error_answer, self.get("requests.json", **backwards), 400)

    def updates(self, rid):
        now = datetime.now(timezone.utc)
        got = self.json_answer(self.get("servicerequestupdates.json"), "request-updates")
        self.c.expect(rid in {u["service_request_id"] for u in got}, "updates of the last day include the new request")
        for zone in (timezone.utc, HCMC):
            around = window(now, zone)
            got = self.json_answer(self.get("servicerequestupdates.json", **around), "request-updates")
            self.c.expect(rid in {u["service_request_id"] for u in got},
                          f"updates filtered by {query(around)} include it")
        around = window(now, timezone.utc)
        self.xml_answer(self.get("servicerequestupdates.xml", **around), "service_request_updates", "request_update")
        self.soft(self.error_answer, self.get("servicerequestupdates.json", start_date="not a date"), 400)

    def refusals(self):
        base = {"service_code": "garbage", "lat": str(LAT), "long": str(LONG), "description": DESCRIPTION}
        self.soft(self.error_answer, self.post("requests.json", {**base, "api_key": "not-a-key"}), 403)
        self.soft(self.error_answer, self.post("requests.xml", {**base, "api_key": "not-a-key"}), 403, "xml")
        self.soft(self.error_answer, self.post("requests.json", base), 403)
        unknown = {**base, "service_code": "no-such-service", "api_key": self.api_key}
        description = self.soft(self.error_answer, self.post("requests.json", unknown), 400)
        print(f"  note  POST with an unknown service_code answers: {short(description, 120)}")
        self.soft(self.error_answer, self.post("requests.json", {**base, "api_key": self.api_key, "lat": "north"}), 400)
        as_json = self.http.post(f"{self.root}/requests.json", json={**base, "api_key": self.api_key}, timeout=TIMEOUT)
        self.soft(self.error_answer, as_json, 400)


def main():
    api_key = os.environ.get("GEOREPORT_API_KEY", "")
    if len(sys.argv) != 2 or not api_key:
        print(__doc__, file=sys.stderr)
        return 2
    base = sys.argv[1]
    checks = Checks()
    o = Open311(base, api_key, checks)
    client = GeoReport(o.root)
    client_xml = GeoReport(o.root, output_format="xml")

    def group(name, run):
        print(f"open311: {name}")
        try:
            return run()
        except Failed as e:
            checks.fail(str(e))
        except requests.HTTPError as e:
            checks.fail(f"georeport got {describe(e.response)}: {short(e.response.text)}")
        except requests.RequestException as e:
            checks.fail(f"no answer: {e}")
        return None

    group("discovery", o.discovery)
    group("services and service definitions", lambda: o.services(client, client_xml))
    filed = group("filing a request", o.file_request)
    if filed:
        rid, token, rid_xml = filed
        group("reading the request by id and by token", lambda: o.read_request(client, client_xml, rid, token, rid_xml))
        group("listing requests with filters", lambda: o.list_requests(client, client_xml, rid))
        group("mySociety's updates", lambda: o.updates(rid))
    group("refusals", o.refusals)

    for f in checks.failures:
        print(f"open311: FAILED: {f}", file=sys.stderr)
    print(f"open311: {checks.passed} passed, {len(checks.failures)} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
