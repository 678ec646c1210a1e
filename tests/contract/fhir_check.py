"""FHIR R4 contract check of `/fhir/` against a running `q10 serve --demo`.

Every FHIR answer is parsed by the models of `fhir.resources` 6.4.0 (PyPI), the last release whose
default package is FHIR R4 (4.0.1); the Appointments sent are built and serialised by the same
models. The models check each element's type, cardinality and primitive format, the required
elements, choice types, the resource types of contained and bundled resources, and refuse unknown
elements. They do not enforce required code bindings: those codes are checked here against the
lists the library records for them (`enum_values`), as are FHIR JSON's rules that the models let
through (no null, no empty array, object or string) and a few invariants of Appointment and Bundle.

The slots are published by the doctor through our own API (`POST /api/v1/telehealth/slots`) on a
random day 20 to 50 days ahead, then found, booked, read, rescheduled and cancelled through FHIR
alone, as a doctor (`Q10_CONTRACT_DOCTOR_TOKEN`) and a ward clinic's staff member
(`Q10_CONTRACT_CLINIC_TOKEN`).

Usage: Q10_CONTRACT_DOCTOR_TOKEN=… Q10_CONTRACT_CLINIC_TOKEN=… fhir_check.py BASE_URL
(bearer tokens in variables, so that they stay out of the process list)

Prints one line per check. The patient's name, phone and reason are test data and are still masked
in every message, as real ones would have to be.
"""

import json
import os
import random
import re
import sys
import urllib.parse
from collections import Counter
from datetime import datetime, timedelta, timezone

import fhir.resources
import pydantic
import requests
from fhir.resources.appointment import Appointment, AppointmentParticipant
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.codeableconcept import CodeableConcept
from fhir.resources.contactpoint import ContactPoint
from fhir.resources.core.fhirabstractmodel import FHIRAbstractModel
from fhir.resources.humanname import HumanName
from fhir.resources.operationoutcome import OperationOutcome
from fhir.resources.patient import Patient
from fhir.resources.reference import Reference
from fhir.resources.schedule import Schedule
from fhir.resources.slot import Slot

TIMEOUT = 10
FHIR_JSON = "application/fhir+json"
R4 = "4.0.1"
HCMC = timezone(timedelta(hours=7), "ICT")

# The booked patient: test data, masked all the same in whatever is printed.
PATIENT_ID = "patient"
FAMILY, GIVEN = "Trần", ["Thị", "Bích"]
NAME = "Trần Thị Bích"
BIRTH_YEAR = "1980"
PHONE = "0901234567"
REASON = "Ho kéo dài hai tuần, sốt nhẹ về chiều (contract test)"
CANCEL_REASON = "Bệnh nhân xin đổi sang khám trực tiếp (contract test)"
SECRETS = (NAME, FAMILY, PHONE, REASON)

# Elements whose list of codes in the library is not the value set FHIR binds them to:
# CapabilityStatement.format is bound to MimeType, and `fhir.resources` records the words of the
# binding's description ("formats", "json", "ttl", "mime") instead.
NOT_CODE_LISTS = {("CapabilityStatement", "format")}

# R4 IssueType (http://hl7.org/fhir/R4/valueset-issue-type.html), a required binding of
# OperationOutcome.issue.code that the library records no codes for.
ISSUE_TYPES = {
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store", "exception",
    "timeout", "incomplete", "throttled", "informational",
}

# What docs/telehealth.md says `/fhir/` does.
INTERACTIONS = {
    "Schedule": {"read", "search-type"},
    "Slot": {"read", "search-type"},
    "Appointment": {"create", "read", "update"},
}
SLOT_SEARCH_PARAMS = {"schedule", "status", "start"}


class Failed(Exception):
    pass


class Checks:
    """Counts what passed and what failed. A failed expectation is recorded and the run goes on; a
    malformed answer raises `Failed`, which ends the group of checks that needed it."""

    def __init__(self):
        self.passed = 0
        self.failures = []
        self.resources = Counter()

    def ok(self, what):
        self.passed += 1
        print(f"  ok    {what}")

    def fail(self, what):
        self.failures.append(what)
        print(f"  FAIL  {what}")

    def note(self, what):
        print(f"  note  {what}")

    def expect(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(f"{what}{' (' + mask(detail) + ')' if detail else ''}")
        return cond


def mask(text):
    text = text if isinstance(text, str) else repr(text)
    for s in SECRETS:
        text = text.replace(s, "[patient data]")
        escaped = json.dumps(s)[1:-1]
        if escaped != s:
            text = text.replace(escaped, "[patient data]")
    return text


def short(text, n=400):
    text = mask(text)
    return text if len(text) <= n else text[:n] + "…"


def describe(resp):
    return f"{resp.request.method} {urllib.parse.urlsplit(resp.url).path} answered {resp.status_code}"


def library_errors(error):
    """What pydantic said, one line per error, with FHIR's element names."""
    lines = []
    for e in error.errors()[:15]:
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__")
        lines.append(f"{loc or '(resource)'}: {e['msg']}")
    more = len(error.errors()) - 15
    if more > 0:
        lines.append(f"… and {more} more")
    return lines


def json_rule_breaks(value, path="$"):
    """FHIR JSON (R4 §2.6.2): no null, and no empty object, array or string."""
    if value is None:
        yield f"{path} is null"
    elif isinstance(value, dict):
        if not value:
            yield f"{path} is an empty object"
        for k, v in value.items():
            yield from json_rule_breaks(v, f"{path}.{k}")
    elif isinstance(value, list):
        if not value:
            yield f"{path} is an empty array"
        for i, v in enumerate(value):
            yield from json_rule_breaks(v, f"{path}[{i}]")
    elif isinstance(value, str) and value == "":
        yield f"{path} is an empty string"


def code_breaks(model, path):
    """Codes outside the lists `fhir.resources` records for required bindings."""
    owner = type(model).__name__
    for name, field in model.__fields__.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        codes = field.field_info.extra.get("enum_values")
        if (owner, field.alias) in NOT_CODE_LISTS:
            codes = None
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            at = f"{path}.{field.alias}" + (f"[{i}]" if isinstance(value, list) else "")
            if codes and isinstance(item, str) and item not in codes:
                yield f"{at} is {item!r}, not one of {codes}"
            if isinstance(item, FHIRAbstractModel):
                yield from code_breaks(item, at)
    if owner == "OperationOutcomeIssue" and model.code not in ISSUE_TYPES:
        yield f"{path}.code is {model.code!r}, not an R4 IssueType code"


def count_resources(raw, counter):
    if isinstance(raw, dict):
        if isinstance(raw.get("resourceType"), str):
            counter[raw["resourceType"]] += 1
        for v in raw.values():
            count_resources(v, counter)
    elif isinstance(raw, list):
        for v in raw:
            count_resources(v, counter)


def ref_id(reference, kind):
    """The id in a literal reference `Kind/id` (relative or absolute), else None."""
    if not reference:
        return None
    m = re.search(rf"(?:^|/){kind}/([A-Za-z0-9\-.]{{1,64}})(?:/_history/[^/]+)?$", reference)
    return m.group(1) if m else None


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Fhir:
    def __init__(self, base, doctor, clinic, checks):
        self.base = base.rstrip("/")
        self.root = self.base + "/fhir"
        self.tokens = {"doctor": doctor, "clinic": clinic}
        self.c = checks
        self.http = requests.Session()

    # --- plumbing --------------------------------------------------------------------------------

    def call(self, method, path, who=None, body=None, headers=None, params=None, root=None):
        h = {"Accept": FHIR_JSON}
        if who:
            h["Authorization"] = f"Bearer {self.tokens[who]}"
        if isinstance(body, FHIRAbstractModel):
            # Changes made by assignment are not validated: what is sent is validated again first.
            h["Content-Type"] = FHIR_JSON
            body = type(body).parse_raw(body.json()).json().encode("utf-8")
        elif isinstance(body, str):
            h["Content-Type"] = FHIR_JSON
            body = body.encode("utf-8")
        h.update(headers or {})
        url = f"{root or self.root}/{path}"
        return self.http.request(method, url, data=body, headers=h, params=params, timeout=TIMEOUT)

    def content_type(self, resp):
        ctype = resp.headers.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != FHIR_JSON:
            raise Failed(f"{describe(resp)} with content-type {ctype!r}, expected {FHIR_JSON}")

    def body(self, resp):
        try:
            return resp.json()
        except ValueError as e:
            raise Failed(f"{describe(resp)} with a body that is not JSON ({e}): {short(resp.text)}") from None

    def parse(self, raw, model, where):
        """Validates a resource with the library and the checks it leaves out; returns the model."""
        if not isinstance(raw, dict) or raw.get("resourceType") != model.get_resource_type():
            got = raw.get("resourceType") if isinstance(raw, dict) else type(raw).__name__
            raise Failed(f"{where}: expected resourceType {model.get_resource_type()}, got {got!r}: "
                         f"{short(json.dumps(raw))}")
        try:
            parsed = model.parse_obj(raw)
        except pydantic.ValidationError as e:
            lines = library_errors(e)
            raise Failed(
                f"{where}: fhir.resources {fhir.resources.__version__} refuses it as an R4 "
                f"{model.get_resource_type()}:\n    " + "\n    ".join(mask(x) for x in lines)
            ) from None
        problems = list(json_rule_breaks(raw)) + list(code_breaks(parsed, model.get_resource_type()))
        if problems:
            raise Failed(f"{where}: not valid R4 JSON:\n    " + "\n    ".join(mask(p) for p in problems[:15]))
        count_resources(raw, self.c.resources)
        return parsed

    def resource(self, resp, model, status=200):
        """An answer that must be `status` with a valid R4 resource of `model`'s type."""
        where = describe(resp)
        if resp.status_code != status:
            raise Failed(f"{where}, expected {status}; body: {short(resp.text)}")
        self.content_type(resp)
        parsed = self.parse(self.body(resp), model, where)
        self.c.ok(f"{where}, an R4 {model.get_resource_type()}")
        return parsed

    def outcome(self, resp, statuses):
        """An error answer: one of `statuses`, with an OperationOutcome holding an error."""
        statuses = statuses if isinstance(statuses, (set, tuple, list)) else {statuses}
        where = describe(resp)
        if resp.status_code not in statuses:
            raise Failed(f"{where}, expected {' or '.join(map(str, sorted(statuses)))}; body: {short(resp.text)}")
        self.content_type(resp)
        oo = self.parse(self.body(resp), OperationOutcome, where)
        severities = [i.severity for i in oo.issue]
        self.c.expect(any(s in ("error", "fatal") for s in severities),
                      f"{where} with an R4 OperationOutcome of severity error", short(oo.json()))
        return oo

    def soft(self, check, *args, **kwargs):
        """Runs one check whose failure should not stop the checks after it."""
        try:
            return check(*args, **kwargs)
        except Failed as e:
            self.c.fail(str(e))
            return None

    def etag(self, resp):
        tag = resp.headers.get("etag", "")
        m = re.fullmatch(r'W/"([^"\s]+)"', tag)
        self.c.expect(m is not None, f'{describe(resp)} with ETag W/"version"', repr(tag))
        return tag if m else None

    def version_matches(self, resp, appt, tag):
        if tag and appt.meta and appt.meta.versionId:
            self.c.expect(tag == f'W/"{appt.meta.versionId}"', "the ETag is the resource's meta.versionId",
                          f"{tag} and {appt.meta.versionId}")

    # --- the checks ------------------------------------------------------------------------------

    def metadata(self):
        cs = self.resource(self.call("GET", "metadata"), CapabilityStatement)
        self.c.expect(cs.fhirVersion == R4, f"fhirVersion is {R4}", repr(cs.fhirVersion))
        self.c.expect(cs.kind in ("instance", "capability"), "kind is instance or capability", repr(cs.kind))
        self.c.expect(any(f == "json" or f.split(";")[0].strip() == FHIR_JSON for f in cs.format),
                      "format offers JSON", repr(cs.format))
        servers = [r for r in cs.rest or [] if r.mode == "server"]
        if not servers:
            raise Failed("the CapabilityStatement has no rest entry in mode server")
        listed = {res.type: res for r in servers for res in r.resource or []}
        for kind, wanted in INTERACTIONS.items():
            res = listed.get(kind)
            if not self.c.expect(res is not None, f"the CapabilityStatement lists {kind}", sorted(listed)):
                continue
            have = {i.code for i in res.interaction or []}
            self.c.expect(wanted <= have, f"{kind} offers {', '.join(sorted(wanted))}",
                          f"lists {sorted(have)}, missing {sorted(wanted - have)}")
            extra = have - wanted
            if extra:
                self.c.note(f"{kind} also lists {sorted(extra)}, which docs/telehealth.md does not name")
        slot = listed.get("Slot")
        if slot is not None:
            params = {p.name for p in slot.searchParam or []}
            if SLOT_SEARCH_PARAMS <= params:
                self.c.ok(f"Slot declares the search parameters {sorted(SLOT_SEARCH_PARAMS)}")
            else:
                self.c.note(f"Slot declares search parameters {sorted(params)}, not all of {sorted(SLOT_SEARCH_PARAMS)}")

    def publish(self):
        """The doctor publishes an hour of 15-minute slots through our API; returns its answer."""
        url = self.base + "/api/v1/telehealth/slots"
        headers = {"Authorization": f"Bearer {self.tokens['doctor']}"}
        rng = random.SystemRandom()
        for _ in range(5):
            day = (datetime.now(HCMC) + timedelta(days=rng.randint(20, 50))).date()
            start = datetime(day.year, day.month, day.day, rng.randint(7, 15), rng.randint(0, 59), tzinfo=HCMC)
            span = {"start": start.isoformat(timespec="seconds"),
                    "end": (start + timedelta(hours=1)).isoformat(timespec="seconds"), "minutes": 15}
            resp = self.http.post(url, json=span, headers=headers, timeout=TIMEOUT)
            if resp.status_code not in (200, 201):
                raise Failed(f"{describe(resp)} for {span}; body: {short(resp.text)}")
            made = resp.json()
            if len(made.get("created", [])) == 4:
                slots = sorted(made["created"], key=lambda s: instant(s["start"]))
                self.c.ok(f"the doctor published 4 slots from {span['start']} through our API")
                return start, slots
            self.c.note(f"publishing {span['start']} made {len(made.get('created', []))} slots "
                        f"(skipped {made.get('skipped')}); trying another day")
        raise Failed("could not publish four free slots in five tries")

    def schedules(self, schedule_id, doctor_id):
        """Schedule search and read; returns the Practitioner reference of our doctor's schedule."""
        b = self.resource(self.call("GET", "Schedule", "doctor"), Bundle)
        self.bundle_shape(b, "Schedule")
        found = None
        for e in b.entry or []:
            actors = [a.reference for a in e.resource.actor]
            self.c.expect(any(ref_id(r, "Practitioner") for r in actors),
                          f"Schedule/{e.resource.id}'s actor references a Practitioner", short(actors))
            if e.resource.id == str(schedule_id):
                found = e.resource
        if found is None:
            raise Failed(f"GET /fhir/Schedule does not hold Schedule/{schedule_id}, the one the slots were published in")
        practitioner = f"Practitioner/{doctor_id}"
        actors = [ref_id(a.reference, "Practitioner") for a in found.actor]
        self.c.expect(str(doctor_id) in actors, f"Schedule/{schedule_id}'s actor is {practitioner}",
                      short([a.reference for a in found.actor]))
        one = self.resource(self.call("GET", f"Schedule/{schedule_id}", "doctor"), Schedule)
        self.c.expect(one.id == str(schedule_id), "GET Schedule/{id} answers that schedule", repr(one.id))
        self.c.expect([a.reference for a in one.actor] == [a.reference for a in found.actor],
                      "the read Schedule has the same actor as the searched one")
        return practitioner

    def bundle_shape(self, b, kind):
        self.c.expect(b.type == "searchset", f"the Bundle of {kind} is a searchset", repr(b.type))
        wrong = [e.resource.resource_type for e in b.entry or [] if e.resource.resource_type != kind]
        self.c.expect(not wrong, f"every entry is a {kind}", short(wrong))
        modes = {e.search.mode for e in b.entry or [] if e.search}
        self.c.expect(modes <= {"match"}, "entries are search matches", short(modes))
        full = [e.fullUrl for e in b.entry or [] if e.fullUrl]
        bad = [u for e in b.entry or [] if (u := e.fullUrl) and ref_id(u, kind) != e.resource.id]
        self.c.expect(not bad, "each fullUrl is the entry's own resource URL", short(bad))
        self.c.expect(len(full) == len(set(full)), "fullUrls are unique (bdl-7)")
        if b.total is not None and not any(link.relation == "next" for link in b.link or []):
            self.c.expect(b.total == len(b.entry or []), "total counts the entries", f"{b.total} and {len(b.entry or [])}")
        return [e.resource for e in b.entry or []]

    def search_slots(self, who, params, label):
        b = self.resource(self.call("GET", "Slot", who, params=params), Bundle)
        print(f"        ({label}: {urllib.parse.urlencode(params, doseq=True)})")
        return self.bundle_shape(b, "Slot")

    def slots(self, schedule_id, since, published):
        """Slot search by schedule, status and start; each published slot read on its own."""
        mine = {str(s["id"]): s for s in published}
        ge = "ge" + since.isoformat(timespec="seconds")
        found = self.search_slots("doctor", {"schedule": str(schedule_id), "status": "free", "start": ge},
                                  "the doctor's free slots from the span's start")
        ids = {s.id for s in found}
        self.c.expect(set(mine) <= ids, "the search finds the four published slots", f"found {sorted(ids)}")
        self.c.expect(all(s.status == "free" for s in found), "every slot found is free",
                      short(sorted({s.status for s in found})))
        self.c.expect(all(s.start >= since for s in found), f"every slot found starts at {since.isoformat()} or later",
                      short(sorted(s.start.isoformat() for s in found if s.start < since)))
        self.c.expect(all(ref_id(s.schedule.reference, "Schedule") == str(schedule_id) for s in found),
                      f"every slot found belongs to Schedule/{schedule_id}")

        cut = since + timedelta(minutes=30)
        window = {"schedule": f"Schedule/{schedule_id}", "status": "free",
                  "start": [ge, "lt" + cut.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]}
        found = self.search_slots("clinic", window, "the clinic, by Schedule/id, a half-hour window in UTC")
        ids = {s.id for s in found}
        early = {i for i, s in mine.items() if instant(s["start"]) < cut}
        self.c.expect(ids == early, "ge and lt together find exactly the first two slots",
                      f"expected {sorted(early)}, found {sorted(ids)}")

    def read_slots(self, schedule_id, published):
        """Each published slot read as a FHIR Slot; returns them, soonest first."""
        read = []
        for s in published:
            sid = str(s["id"])
            one = self.resource(self.call("GET", f"Slot/{sid}", "doctor"), Slot)
            self.c.expect(one.id == sid and one.status == "free", f"Slot/{sid} is free", f"{one.id} {one.status}")
            self.c.expect(one.start == instant(s["start"]) and one.end == instant(s["end"]),
                          f"Slot/{sid} has the start and end our API gave",
                          f"{one.start.isoformat()}–{one.end.isoformat()} and {s['start']}–{s['end']}")
            self.c.expect(ref_id(one.schedule.reference, "Schedule") == str(schedule_id),
                          f"Slot/{sid} belongs to Schedule/{schedule_id}", one.schedule.reference)
            read.append(one)
        return read

    def slot_status(self, sid, wanted, why):
        one = self.resource(self.call("GET", f"Slot/{sid}", "clinic"), Slot)
        self.c.expect(one.status == wanted, f"Slot/{sid} is {wanted} {why}", repr(one.status))
        return one

    def new_appointment(self, slot, practitioner, with_slot=True):
        """An R4 Appointment on `slot` for the test patient, built with the library."""
        patient = Patient(
            id=PATIENT_ID,
            name=[HumanName(text=NAME, family=FAMILY, given=GIVEN)],
            birthDate=BIRTH_YEAR,
            telecom=[ContactPoint(system="phone", value=PHONE, use="mobile")],
        )
        return Appointment(
            status="booked",
            slot=[Reference(reference=f"Slot/{slot.id}")] if with_slot else None,
            start=slot.start,
            end=slot.end,
            contained=[patient],
            participant=[
                AppointmentParticipant(actor=Reference(reference=f"#{PATIENT_ID}"), status="accepted"),
                AppointmentParticipant(actor=Reference(reference=practitioner), status="accepted"),
            ],
            reasonCode=[CodeableConcept(text=REASON)],
        )

    def appointment_shape(self, appt, status, slot, practitioner, where):
        """What every Appointment answer must say about itself."""
        c = self.c
        c.expect(appt.status == status, f"{where}: status {status}", repr(appt.status))
        slots = [s.reference for s in appt.slot or []]
        c.expect([ref_id(s, "Slot") for s in slots] == [slot.id], f"{where}: slot is Slot/{slot.id}", short(slots))
        c.expect(appt.start == slot.start and appt.end == slot.end, f"{where}: start and end are the slot's",
                 f"{appt.start} – {appt.end}")
        # app-2 and app-3: start and end together, and only proposed or cancelled ones without.
        c.expect((appt.start is None) == (appt.end is None), f"{where}: start and end come together (app-2)")
        c.expect(appt.start is not None or appt.status in ("proposed", "cancelled", "waitlist"),
                 f"{where}: has start and end, as a {appt.status} appointment must (app-3)")
        # app-4: a cancelation reason only on cancelled or noshow appointments.
        c.expect(appt.cancelationReason is None or appt.status in ("cancelled", "noshow"),
                 f"{where}: cancelationReason only when cancelled (app-4)")
        actors = [p.actor.reference for p in appt.participant if p.actor]
        doctor = ref_id(practitioner, "Practitioner")
        c.expect(doctor in [ref_id(a, "Practitioner") for a in actors], f"{where}: a participant is {practitioner}",
                 short(actors))
        contained = {r.id: r for r in appt.contained or []}
        local = [a[1:] for a in actors if a and a.startswith("#")]
        patients = [contained[i] for i in local if i in contained and contained[i].resource_type == "Patient"]
        if not c.expect(len(patients) == 1, f"{where}: a participant references the contained Patient",
                        f"references {short(actors)}, contained {sorted(contained)}"):
            return
        p = patients[0]
        names = [n.text or " ".join([n.family or ""] + list(n.given or [])).strip() for n in p.name or []]
        c.expect(NAME in names, f"{where}: the contained Patient keeps the name", "[patient data] missing")
        c.expect(p.birthDate is not None and str(p.birthDate) == BIRTH_YEAR,
                 f"{where}: the contained Patient's birthDate is the year", "birthDate differs")
        phones = [t.value for t in p.telecom or [] if t.system == "phone"]
        c.expect(phones == [PHONE], f"{where}: the contained Patient keeps a phone telecom", "phone differs")
        reasons = [r.text for r in appt.reasonCode or []]
        c.expect(reasons[:1] == [REASON], f"{where}: reasonCode[0].text is the reason", "reason differs")

    def book(self, slots, practitioner):
        """The clinic books the first slot; returns the appointment's id and ETag."""
        first = slots[0]
        resp = self.call("POST", "Appointment", "clinic", self.new_appointment(first, practitioner))
        where = describe(resp)
        appt = self.resource(resp, Appointment, 201)
        location = resp.headers.get("location", "")
        m = re.fullmatch(r"(?:https?://[^/\s]+)?/fhir/Appointment/([A-Za-z0-9\-.]{1,64})(/_history/[^/\s]+)?",
                         location)
        self.c.expect(m is not None, f"{where} with Location …/fhir/Appointment/{{id}}", repr(location))
        if m:
            self.c.expect(m.group(1) == appt.id, "the Location names the created Appointment's id",
                          f"{location} and {appt.id}")
            if m.group(2):
                self.c.note(f"the Location carries the version: {location}")
        if not appt.id:
            raise Failed(f"{where} with an Appointment without an id")
        tag = self.etag(resp)
        self.version_matches(resp, appt, tag)
        self.appointment_shape(appt, "booked", first, practitioner, "the created Appointment")

        again = self.call("POST", "Appointment", "clinic", self.new_appointment(first, practitioner))
        self.soft(self.outcome, again, {409, 422, 400})
        return appt.id, tag

    def read(self, aid, tag, slots, practitioner):
        resp = self.call("GET", f"Appointment/{aid}", "clinic")
        appt = self.resource(resp, Appointment)
        self.c.expect(appt.id == aid, f"GET Appointment/{aid} answers that appointment", repr(appt.id))
        now = self.etag(resp)
        self.c.expect(now == tag, "the ETag is the one the creation answered", f"{now} and {tag}")
        self.version_matches(resp, appt, now)
        self.appointment_shape(appt, "booked", slots[0], practitioner, "the read Appointment")
        by_doctor = self.resource(self.call("GET", f"Appointment/{aid}", "doctor"), Appointment)
        self.c.expect(by_doctor.id == aid, "the doctor reads the appointment too")
        self.slot_status(slots[0].id, "busy", "once booked")
        free = self.search_slots("clinic", {"schedule": slots[0].schedule.reference.rsplit("/", 1)[-1],
                                            "status": "free", "start": "ge" + slots[0].start.isoformat()},
                                 "free slots after booking")
        self.c.expect(slots[0].id not in {s.id for s in free}, "the booked slot is no longer found free")
        return appt

    def reschedule(self, appt, tag, slots, practitioner):
        """PUT onto the second slot with If-Match; a stale If-Match is refused. Returns the answer."""
        old, new, third = slots[0], slots[1], slots[2]
        moved = Appointment.parse_obj(appt.dict())
        moved.slot = [Reference(reference=f"Slot/{new.id}")]
        moved.start, moved.end = new.start, new.end
        resp = self.call("PUT", f"Appointment/{appt.id}", "clinic", moved, {"If-Match": tag})
        got = self.resource(resp, Appointment)
        newtag = self.etag(resp)
        self.c.expect(newtag is not None and newtag != tag, "the update answers a new ETag", f"{tag} then {newtag}")
        self.version_matches(resp, got, newtag)
        self.appointment_shape(got, "booked", new, practitioner, "the rescheduled Appointment")
        self.slot_status(old.id, "free", "again after the reschedule")
        self.slot_status(new.id, "busy", "after the reschedule")

        stale = Appointment.parse_obj(got.dict())
        stale.slot = [Reference(reference=f"Slot/{third.id}")]
        stale.start, stale.end = third.start, third.end
        resp = self.call("PUT", f"Appointment/{appt.id}", "clinic", stale, {"If-Match": tag})
        self.soft(self.outcome, resp, 412)
        self.slot_status(third.id, "free", "after the refused update")
        after = self.resource(self.call("GET", f"Appointment/{appt.id}", "clinic"), Appointment)
        self.c.expect([ref_id(s.reference, "Slot") for s in after.slot or []] == [new.id],
                      "the refused update left the appointment on its slot")
        return got, newtag

    def cancel(self, appt, tag, slot, practitioner):
        gone = Appointment.parse_obj(appt.dict())
        gone.status = "cancelled"
        gone.cancelationReason = CodeableConcept(text=CANCEL_REASON)
        resp = self.call("PUT", f"Appointment/{appt.id}", "clinic", gone, {"If-Match": tag})
        got = self.resource(resp, Appointment)
        self.etag(resp)
        self.appointment_shape(got, "cancelled", slot, practitioner, "the cancelled Appointment")
        text = got.cancelationReason.text if got.cancelationReason else None
        self.c.expect(text == CANCEL_REASON, "cancelationReason.text is kept", "differs" if text else "missing")
        self.slot_status(slot.id, "free", "again after the cancellation")
        after = self.resource(self.call("GET", f"Appointment/{appt.id}", "doctor"), Appointment)
        self.c.expect(after.status == "cancelled", "the doctor reads it cancelled", repr(after.status))

    def refusals(self, slots, practitioner):
        no_slot = self.new_appointment(slots[3], practitioner, with_slot=False)
        self.soft(self.outcome, self.call("POST", "Appointment", "clinic", no_slot), {400, 409, 422})
        self.soft(self.outcome, self.call("POST", "Appointment", "clinic", "{not json"), {400, 415, 422})
        by_doctor = self.new_appointment(slots[3], practitioner)
        self.soft(self.outcome, self.call("POST", "Appointment", "doctor", by_doctor), 403)
        self.soft(self.outcome, self.call("GET", "Appointment/999999999", "clinic"), 404)
        self.soft(self.outcome, self.call("GET", "Slot/999999999", "clinic"), 404)
        # A valid FHIR id ([A-Za-z0-9-.]{1,64}) that names no appointment of ours.
        self.soft(self.outcome, self.call("GET", "Appointment/not-a-number", "clinic"), {400, 404})
        resp = self.call("GET", "Schedule")
        if self.c.expect(resp.status_code == 401, "GET /fhir/Schedule without a token answers 401",
                         f"{resp.status_code}: {short(resp.text)}"):
            self.soft(self.outcome, resp, 401)


def main():
    doctor = os.environ.get("Q10_CONTRACT_DOCTOR_TOKEN", "")
    clinic = os.environ.get("Q10_CONTRACT_CLINIC_TOKEN", "")
    if len(sys.argv) != 2 or not doctor or not clinic:
        print(__doc__, file=sys.stderr)
        return 2
    if fhir.resources.__fhir_version__ != R4:
        print(f"fhir: fhir.resources {fhir.resources.__version__} models FHIR {fhir.resources.__fhir_version__}, "
              f"not R4 {R4}", file=sys.stderr)
        return 2
    checks = Checks()
    f = Fhir(sys.argv[1], doctor, clinic, checks)

    def group(name, run):
        print(f"fhir: {name}")
        try:
            return run()
        except Failed as e:
            checks.fail(str(e))
        except requests.RequestException as e:
            checks.fail(f"no answer: {e}")
        return None

    group("the CapabilityStatement (GET /fhir/metadata, no token)", f.metadata)
    published = group("publishing slots (POST /api/v1/telehealth/slots, as the doctor)", f.publish)
    refused = False
    if published:
        since, api_slots = published
        schedule_id, doctor_id = api_slots[0]["schedule_id"], api_slots[0]["doctor_id"]
        practitioner = group("Schedule search and read", lambda: f.schedules(schedule_id, doctor_id))
        slots = group("the published slots read as FHIR Slots", lambda: f.read_slots(schedule_id, api_slots))
        group("Slot search", lambda: f.slots(schedule_id, since, api_slots))
        if practitioner and slots:
            booked = group("booking (POST /fhir/Appointment, as the clinic)", lambda: f.book(slots, practitioner))
            if booked:
                aid, tag = booked
                appt = group("reading the Appointment", lambda: f.read(aid, tag, slots, practitioner))
                moved = appt and group("rescheduling (PUT with If-Match)",
                                       lambda: f.reschedule(appt, tag, slots, practitioner))
                if moved:
                    group("cancelling (PUT status cancelled)",
                          lambda: f.cancel(moved[0], moved[1], slots[1], practitioner))
            group("refusals", lambda: f.refusals(slots, practitioner))
            refused = True
    if not refused:
        print("fhir: refusals that need no appointment")
        try:
            f.soft(f.outcome, f.call("GET", "Appointment/999999999", "clinic"), 404)
            resp = f.call("GET", "Schedule")
            checks.expect(resp.status_code == 401, "GET /fhir/Schedule without a token answers 401",
                          str(resp.status_code))
        except requests.RequestException as e:
            checks.fail(f"no answer: {e}")

    for failure in checks.failures:
        print(f"fhir: FAILED: {failure}", file=sys.stderr)
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(checks.resources.items()))
    print(f"fhir: {sum(checks.resources.values())} resources validated as R4 {R4} by fhir.resources "
          f"{fhir.resources.__version__} ({kinds or 'none'}); {checks.passed} passed, {len(checks.failures)} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
