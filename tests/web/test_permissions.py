"""The permission matrix (issue 5): every route of the app, as every role, against another practice's
objects.

Routes are enumerated from ``app.routes`` at test time, so a new endpoint joins the matrix without
anyone editing this file. A route whose path parameters the matrix cannot fill fails
``test_every_route_is_in_the_matrix`` (see ``PARAM_OBJECTS`` / ``SEGMENT_OBJECTS`` to teach it a new
parameter) unless it is on the small, justified ``UNFILLABLE_ALLOWED`` list.

The world: practices P01 and P02; a biller assigned to P01 only; one object of every kind for P02
(claim with a scrub run and findings, authorization, remittance with a denied line, import job, a
patient known only at P02). Every P02 identifier carries the marker ``ZZP02`` so a response body can
be searched for a leak.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from painrcm.edits import CATALOGUE
from painrcm.edits.examples import example_dict
from painrcm.model import Encounter as EncounterModel
from painrcm.store import models as m
from painrcm.store import services
from painrcm.store.db import Database
from painrcm.web import security
from tests.web.conftest import BASE_URL, PRACTICES, USERS, login, make_user

MARKER = "ZZP02"
ROLES = ("admin", "supervisor", "biller")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Not part of the matrix: public by design, or the framework's own documents.
EXCLUDED_PATHS = {"/healthz", "/login", "/api/auth/login", "/api/openapi.json"}
EXCLUDED_PREFIXES = ("/static", "/api/docs")
# Ending the caller's own session is checked anonymously but not replayed with a live session (it would
# sign the matrix's client out half-way through).
SESSION_ENDING = {("POST", "/logout"), ("POST", "/api/auth/logout")}

# Path parameter name -> the kind of P02 object it names.
PARAM_OBJECTS: dict[str, str] = {
    "claim_id": "encounter",
    "claim_pk": "encounter",
    "encounter_id": "encounter",
    "encounter_pk": "encounter",
    "finding_id": "finding",
    "run_id": "run",
    "scrub_run_id": "run",
    "auth_id": "authorization",
    "authorization_id": "authorization",
    "line_id": "remit_line",
    "remit_line_id": "remit_line",
    "denial_id": "remit_line",
    "remit_claim_id": "remit_claim",
    "remittance_id": "remittance",
    "remit_id": "remittance",
    "job_id": "import_job",
    "import_id": "import_job",
    "upload_id": "import_job",
    "person_id": "person",
    "patient_id": "person",
    "chart_id": "chart",
    "practice_id": "practice",
    "practice": "practice",
    "user_id": "user",
}
# For a generic name ({id}, {pk}), the literal path segment before it decides.
SEGMENT_OBJECTS: dict[str, str] = {
    "claims": "encounter",
    "encounters": "encounter",
    "findings": "finding",
    "runs": "run",
    "authorizations": "authorization",
    "auths": "authorization",
    "denials": "remit_line",
    "remit-lines": "remit_line",
    "lines": "remit_line",
    "remittances": "remittance",
    "remits": "remittance",
    "imports": "import_job",
    "jobs": "import_job",
    "uploads": "import_job",
    "patients": "person",
    "persons": "person",
    "practices": "practice",
    "users": "user",
    "dashboard": "practice",
    "auth-requests": "auth_request",
}
GENERIC_PARAMS = {"id", "pk", "object_id", "item_id"}
# Objects that do not belong to a practice (the matrix checks them for admin-only access instead).
UNSCOPED_OBJECTS = {"user"}
# Routes with path parameters that name no object (kept small; each entry says why).
UNFILLABLE_ALLOWED: dict[str, str] = {}


# --- the world ---------------------------------------------------------------------------------
@dataclass
class World:
    app: FastAPI
    db: Database
    ids: dict[str, Any]
    users: dict[str, int]
    clients: dict[str, TestClient] = field(default_factory=dict)


def _enc_doc(practice: dict[str, Any], encounter_id: str, patient: dict[str, Any]) -> EncounterModel:
    doc = example_dict(copy.deepcopy(CATALOGUE["BUN001"].example))
    doc.update(
        encounter_id=encounter_id,
        practice=practice,
        patient=patient,
        date_of_service=(date.today() - timedelta(days=20)).isoformat(),
    )
    return EncounterModel.model_validate(doc)


_serial = itertools.count(1)


def seed_p02(db: Database, engine: Any) -> dict[str, Any]:
    """One object of every kind for practice P02, every identifier marked; fresh ones on each call."""
    n = next(_serial)
    tag = f"{MARKER}{n:03d}"
    patient = {
        "id": f"{tag}-CHART",
        "member_id": f"{tag}MEM",
        "last_name": f"Zzquill{n:03d}",
        "first_name": "Zephyrine",
        "dob": "1949-07-13",
        "sex": "F",
    }
    enc = _enc_doc(PRACTICES["P02"], f"{tag}-ENC", patient)
    with db.session() as s:
        row, _ = services.save_encounter(s, enc, source=f"{tag}.json", practice_id="P02")
        run = services.scrub_row(s, row, engine)
        assert run.findings, "the P02 claim needs findings for the finding routes"
        person = s.get(m.Person, row.person_id)
        chart = s.query(m.Chart).filter_by(practice_id="P02", person_id=person.id).one()
        auth = m.Authorization(
            practice_id="P02",
            person_id=person.id,
            auth_number=f"{tag}AUTH",
            payer_id="MEDICARE",
            member_id=patient["member_id"],
            codes=["64483"],
            sessions=2,
            start_date=date.today() - timedelta(days=60),
            end_date=date.today() + timedelta(days=10),
            status="approved",
        )
        job = m.ImportJob(
            kind="x12_835",
            file_name=f"{tag}-remit.835",
            file_hash=f"{tag:0<64}"[:64],
            practice_id="P02",
            status="done",
            total=1,
            done=1,
        )
        auth_request = m.AuthRequest(
            practice_id="P02",
            person_id=person.id,
            request_id=f"{tag}-REQ",
            payer_id="MEDICARE",
            member_id=patient["member_id"],
            planned_date=date.today() + timedelta(days=10),
            codes=["64483"],
            auth_codes=["64483"],
            families=["epidural_transforaminal"],
            status="pended",
            ready=False,
            waiting_for=[f"evidence ({tag})"],
            evidence=[],
            document={},
            source="api",
            response_due=date.today() + timedelta(days=7),
        )
        s.add_all([auth, job, auth_request])
        s.flush()
        remit = m.Remittance(
            practice_id="P02",
            import_id=job.id,
            payer_name=f"PAYER {tag}",
            trace_number=f"{tag}TRN",
            payment_amount=0,
            payment_date=date.today(),
        )
        rclaim = m.RemitClaim(
            practice_id="P02",
            patient_control_number=f"{tag}-ENC",
            status_code="1",
            billed=1100,
            paid=0,
            payer_claim_number=f"{tag}PCN",
            encounter_pk=row.id,
        )
        # linked to the claim's imaging line, as an 835 import links it
        rline = m.RemitLine(
            practice_id="P02",
            code="77003",
            billed=200,
            paid=0,
            control_number=f"{tag}-L2",
            date_of_service=row.date_of_service,
            remarks=["M80"],
            denied=True,
            explanation=f"Denied as unbundled ({tag})",
            next_action="correct_and_resubmit",
            claim_line_id=row.lines[-1].id,
        )
        rline.adjustments = [m.RemitAdjustment(group_code="CO", reason_code="97", amount=200)]
        rclaim.lines = [rline]
        remit.claims = [rclaim]
        s.add(remit)
        s.flush()
        return {
            "tag": tag,
            "encounter": row.id,
            "encounter_ref": row.encounter_id,
            "run": run.id,
            "finding": run.findings[0].id,
            "authorization": auth.id,
            "auth_request": auth_request.id,
            "import_job": job.id,
            "remittance": remit.id,
            "remit_claim": rclaim.id,
            "remit_line": rline.id,
            "person": person.id,
            "chart": chart.id,
            "practice": "P02",
        }


def seed_p01(db: Database, engine: Any) -> None:
    """The biller's own practice has a claim too, so the lists are not empty for the wrong reason."""
    patient = {
        "id": "P01-CHART-1",
        "member_id": "P01MEMBER1",
        "last_name": "Ownpractice",
        "first_name": "Olive",
        "dob": "1961-02-03",
        "sex": "F",
    }
    with db.session() as s:
        row, _ = services.save_encounter(
            s, _enc_doc(PRACTICES["P01"], "P01-ENC-1", patient), source="p01.json", practice_id="P01"
        )
        services.scrub_row(s, row, engine)


def sign_in(app: FastAPI, role: str) -> TestClient:
    client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
    client.headers[security.CSRF_HEADER] = login(client, USERS[role]["email"])
    return client


@pytest.fixture(scope="module")
def world(app: FastAPI, users: dict[str, int]) -> Iterator[World]:
    db: Database = app.state.db
    seed_p01(db, app.state.engine)
    target = make_user(db, "matrix.target@example.test", "biller", ["P02"], "Matrix Target")
    w = World(app=app, db=db, ids=seed_p02(db, app.state.engine), users={**users, "target": target})
    w.clients = {role: sign_in(app, role) for role in ROLES}
    w.clients["anonymous"] = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
    yield w
    for c in w.clients.values():
        c.close()


# --- the routes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    method: str
    path: str
    route: APIRoute | Route

    @property
    def api(self) -> bool:
        return self.path.startswith(("/api/", "/fhir/"))  # the FHIR front door is API too

    @property
    def params(self) -> list[str]:
        return re.findall(r"{([^}:]+)(?::[^}]*)?}", self.path)

    @property
    def admin_only(self) -> bool:
        return self.path.startswith(("/api/admin/", "/admin/")) or self.path == "/admin"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _framework_docs(app: FastAPI) -> set[str]:
    """FastAPI's own documentation pages (OpenAPI, Swagger UI and its OAuth2 redirect): public by design."""
    return {
        u for u in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if u
    }


def _flat_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, original route) of every route, through included routers."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.160 keeps included routers nested
    except ImportError:  # pragma: no cover - older FastAPI flattens on include
        for r in app.routes:
            yield getattr(r, "path", ""), set(getattr(r, "methods", None) or ()), r
        return
    for rc in iter_route_contexts(app.routes):
        yield rc.path or "", set(rc.methods or ()), rc.original_route


def routes(app: FastAPI) -> list[Call]:
    calls: list[Call] = []
    for path, methods, r in _flat_routes(app):
        if isinstance(r, Mount) or not isinstance(r, Route):
            continue
        if path in EXCLUDED_PATHS | _framework_docs(app) or path.startswith(EXCLUDED_PREFIXES):
            continue
        for method in sorted(methods):
            if method in METHODS:
                calls.append(Call(method, path, r))
    # reads first, deletions last: a privileged change must not hide an object from a later call
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    return sorted(calls, key=lambda c: (order[c.method], c.path))


def object_kind(call: Call, param: str) -> str | None:
    if param in PARAM_OBJECTS:
        return PARAM_OBJECTS[param]
    if param in GENERIC_PARAMS:
        before = call.path.split("{" + param)[0].rstrip("/").rsplit("/", 1)[-1]
        return SEGMENT_OBJECTS.get(before)
    return None


def unfillable(call: Call) -> list[str]:
    return [p for p in call.params if object_kind(call, p) is None]


def kinds(call: Call) -> set[str]:
    return {k for p in call.params if (k := object_kind(call, p)) is not None}


def _param_annotation(call: Call, name: str) -> Any:
    if isinstance(call.route, APIRoute):
        for f in call.route.dependant.path_params:
            if f.name == name:
                return f.field_info.annotation
    return None


def fill(call: Call, ids: dict[str, Any], users: dict[str, int]) -> str:
    path = call.path
    for p in call.params:
        kind = object_kind(call, p)
        if kind == "user":
            value: Any = users["target"]  # never the caller: an admin's change must not lock the matrix out
        elif kind == "encounter" and _param_annotation(call, p) is str:
            value = ids["encounter_ref"]  # a string claim ID is the business encounter ID
        else:
            value = ids[kind]
        path = re.sub(r"{" + re.escape(p) + r"(?::[^}]*)?}", str(value), path)
    return path


# --- request bodies: a valid one, so validation (422) cannot stand in front of the scope check ---
def _sample(schema: dict[str, Any], defs: dict[str, Any], name: str = "") -> Any:
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return _sample(options[0], defs, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        req = set(schema.get("required", []))
        return {
            k: _sample(v, defs, k)
            for k, v in schema.get("properties", {}).items()
            if k in req or k in ("practice", "practice_id")
        }
    if kind == "array":
        return [_sample(schema.get("items", {}), defs, name)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if name in ("practice", "practice_id"):
        return "P02"
    if schema.get("format") == "date":
        return date.today().isoformat()
    if schema.get("format") == "email":
        return "new.person@matrix.test"
    return "matrix test reason"


def _json_body(route: APIRoute) -> Any:
    body = route.body_field
    if body is None:
        return None
    from pydantic import TypeAdapter

    schema = TypeAdapter(body.field_info.annotation).json_schema()
    if schema.get("type") == "object" and not schema.get("properties"):
        # a free-form document: the only one the app takes is an encounter, so send P02's
        return _enc_doc(
            PRACTICES["P02"],
            f"{MARKER}-NEW",
            {
                "id": f"{MARKER}-NEWCHART",
                "member_id": f"{MARKER}NEWMEM",
                "last_name": "Zznew",
                "first_name": "Zed",
                "dob": "1950-01-01",
                "sex": "M",
            },
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
    return _sample(schema, schema.get("$defs", {}), body.name)


def _is_upload(annotation: Any) -> bool:
    from starlette.datastructures import UploadFile

    candidates = [annotation, *get_args(annotation)]
    return any(inspect.isclass(a) and issubclass(a, UploadFile) for a in candidates) or (
        get_origin(annotation) is list and any(_is_upload(a) for a in get_args(annotation))
    )


def request_kwargs(call: Call) -> dict[str, Any]:
    route = call.route
    if call.method == "GET" or not isinstance(route, APIRoute):
        return {}
    fields = route.dependant.body_params
    if not fields:
        return {}
    from fastapi.params import File, Form

    if any(isinstance(f.field_info, (Form, File)) for f in fields):
        data: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for f in fields:
            if isinstance(f.field_info, File) or _is_upload(f.field_info.annotation):
                files[f.alias] = ("matrix.txt", b"ISA*00~", "text/plain")
            elif not f.field_info.is_required() and f.alias not in ("practice", "practice_id"):
                continue
            else:
                from pydantic import TypeAdapter

                schema = TypeAdapter(f.field_info.annotation).json_schema()
                data[f.alias] = _sample(schema, schema.get("$defs", {}), f.alias)
        return {"data": data, "files": files or None}
    return {"json": _json_body(route) if _json_body(route) is not None else {}}


def call(
    w: World, role: str, c: Call, ids: dict[str, Any] | None = None, query: dict[str, str] | None = None
):
    client = w.clients[role]
    path = fill(c, ids or w.ids, w.users)
    return client.request(c.method, path, params=query, follow_redirects=False, **request_kwargs(c))


def leak(text: str) -> str | None:
    """The first P02 identifier (or the P02 practice's name) in a response body, with context."""
    low = text.lower()
    for needle in (MARKER.lower(), PRACTICES["P02"]["name"].lower()):
        if needle in low:
            i = low.index(needle)
            return text[max(0, i - 60) : i + 40]
    return None


def _report(title: str, problems: list[str]) -> str:
    return f"{title} ({len(problems)}):\n  " + "\n  ".join(problems)


# --- the matrix --------------------------------------------------------------------------------
def test_every_route_is_in_the_matrix(world: World) -> None:
    calls = routes(world.app)
    assert calls, "no routes found"
    missing = sorted(
        {
            f"{c} (cannot fill: {', '.join(unfillable(c))})"
            for c in calls
            if unfillable(c) and c.path not in UNFILLABLE_ALLOWED
        }
    )
    assert not missing, _report(
        "routes whose path parameters the permission matrix cannot fill; teach PARAM_OBJECTS/SEGMENT_OBJECTS "
        "in tests/web/test_permissions.py what they name",
        missing,
    )


def test_anonymous_is_refused_everywhere(world: World) -> None:
    problems = []
    for c in routes(world.app):
        if unfillable(c):
            continue
        r = call(world, "anonymous", c)
        if c.api:
            if r.status_code != 401:
                problems.append(f"{c}: {r.status_code}, expected 401")
        elif r.status_code not in (302, 303, 307) or not r.headers.get("location", "").startswith("/login"):
            problems.append(
                f"{c}: {r.status_code} {r.headers.get('location', '')}, expected a redirect to /login"
            )
    assert not problems, _report("reachable without signing in", problems)


def test_biller_gets_404_for_every_other_practice_object(world: World) -> None:
    problems = []
    for c in routes(world.app):
        if (
            unfillable(c)
            or c.admin_only
            or not (kinds(c) - UNSCOPED_OBJECTS)
            or (c.method, c.path) in SESSION_ENDING
        ):
            continue
        r = call(world, "biller", c)
        if r.status_code != 404:
            problems.append(f"{c} -> {fill(c, world.ids, world.users)}: {r.status_code}, expected 404")
        elif leak(r.text):
            problems.append(f"{c}: the 404 body names the P02 object: {leak(r.text)!r}")
    assert not problems, _report("a P01 biller reaches P02 objects", problems)


def _list_calls(w: World) -> list[Call]:
    return [c for c in routes(w.app) if c.method == "GET" and not c.params and not c.admin_only]


def _filters(c: Call) -> list[dict[str, str]]:
    names = {"practice", "practice_id"}
    if isinstance(c.route, APIRoute):
        names |= {
            f.alias
            for f in c.route.dependant.query_params
            if f.alias in ("practice", "practice_id", "practices")
        }
    return [{}, *({n: "P02"} for n in sorted(names))]


def test_biller_lists_and_filters_show_no_other_practice_data(world: World) -> None:
    problems = []
    for c in _list_calls(world):
        for q in _filters(c):
            r = call(world, "biller", c, query=q)
            if r.status_code >= 500:
                problems.append(f"{c} {q}: {r.status_code}")
            elif leak(r.text):
                problems.append(f"{c} {q}: {r.status_code}, body shows P02 data: ...{leak(r.text)!r}...")
    assert not problems, _report("P02 data in a P01 biller's lists", problems)


def _practice_query(c: Call) -> dict[str, str]:
    if not isinstance(c.route, APIRoute):
        return {}
    return {f.alias: "P02" for f in c.route.dependant.query_params if f.alias in ("practice", "practice_id")}


def test_biller_cannot_write_into_another_practice(world: World) -> None:
    """Unsafe calls with no object in the path but a practice (form field, JSON field or query) set to P02:
    uploads, new claims. Another practice's write is not found either."""
    problems = []
    for c in routes(world.app):
        if c.method == "GET" or c.params or c.admin_only or (c.method, c.path) in SESSION_ENDING:
            continue
        kw = request_kwargs(c)
        payload = kw.get("json") if isinstance(kw.get("json"), dict) else kw.get("data") or {}
        query = _practice_query(c)
        names_practice = any(k in payload for k in ("practice", "practice_id")) or query
        if not names_practice:
            continue
        r = call(world, "biller", c, query=query or None)
        if r.status_code != 404:
            problems.append(f"{c} with practice P02: {r.status_code} {r.text[:120]!r}, expected 404")
    assert not problems, _report("a P01 biller writes into P02", problems)


def test_admin_endpoints_forbid_supervisor_and_biller(world: World) -> None:
    """/api/admin/... and the /admin pages answer 403 to other roles; a user account reached by any
    other route is refused to them as well (403 or 404)."""
    problems = []
    for role in ("supervisor", "biller"):
        for c in routes(world.app):
            if unfillable(c) or not (c.admin_only or "user" in kinds(c)):
                continue
            r = call(world, role, c)
            allowed = (403,) if c.admin_only else (403, 404)
            if r.status_code not in allowed:
                problems.append(f"{role} {c}: {r.status_code}, expected {' or '.join(map(str, allowed))}")
    assert not problems, _report("admin-only endpoints open to other roles", problems)


def test_supervisor_and_admin_reach_other_practice_objects(world: World) -> None:
    problems = []
    for role in ("supervisor", "admin"):
        for c in routes(world.app):
            if unfillable(c) or not c.params or (c.method, c.path) in SESSION_ENDING:
                continue
            if c.admin_only and role != "admin":
                continue
            # every change gets fresh objects, so an earlier change cannot hide them from this one
            ids = world.ids if c.method == "GET" else seed_p02(world.db, world.app.state.engine)
            r = call(world, role, c, ids=ids)
            if r.status_code == 404 or r.status_code >= 500:
                problems.append(
                    f"{role} {c} -> {fill(c, ids, world.users)}: {r.status_code} {r.text[:120]!r}"
                )
    assert not problems, _report("privileged roles refused P02 objects", problems)


def test_supervisor_lists_show_other_practice_data(world: World) -> None:
    """The leak check is not vacuous: the same lists, and their P02 filters, do show P02 to a supervisor."""
    problems = [
        f"{c} {q}: {r.status_code}"
        for c in _list_calls(world)
        for q in _filters(c)
        if (r := call(world, "supervisor", c, query=q)).status_code == 404 or r.status_code >= 500
    ]
    assert not problems, _report("lists or P02 filters refused to a supervisor", problems)
    lists = [c for c in _list_calls(world) if c.api or c.path in ("/claims", "/denials", "/authorizations")]
    seen = [str(c) for c in lists if leak(call(world, "supervisor", c).text)]
    assert seen, (
        "no list endpoint shows P02 data to a supervisor: the matrix's leak check would prove nothing"
    )
