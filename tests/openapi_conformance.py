"""Check answers against the OpenAPI document: `Conformance`, a Flask test client that looks up
the documented operation of every request and checks the answer against it before handing it
back (the status must be listed, a JSON body must match the declared schema, declared headers
must be present and well formed), and the lookups tests/test_openapi.py makes in the document.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.sharing import b64u, bearer, proof_headers

DOCUMENT_FILE = Path(__file__).resolve().parent.parent / "server" / "openapi.json"
DOCUMENT = json.loads(DOCUMENT_FILE.read_text("utf-8"))
DOCUMENT_URI = "urn:onetimeshare:openapi"
REGISTRY = Registry().with_resource(
    DOCUMENT_URI, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012)
)
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: Flask's route variable names -> the document's path parameter names.
PARAMETER_NAMES = {"sid": "id", "index": "index"}

OPERATIONS = [
    (path, method)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in HTTP_METHODS
]
SECURED = [(path, method) for path, method in OPERATIONS
           if DOCUMENT["paths"][path][method].get("security")]
ON_A_SHARE = [(path, method) for path, method in OPERATIONS if "{id}" in path]

UNKNOWN_ID = b64u(b"\0" * 16)
SOME_TOKEN = b64u(b"t" * 32)
SALT = b64u(b"s" * 16)
VERIFIER = b64u(b"v" * 32)
METADATA = b64u(b"m" * 64)
VALID_CREATE = {"version": 2, "size": 1000, "verifier": VERIFIER, "metadata": METADATA}


def operation_id(case):
    return f"{case[1].upper()} {case[0]}"


# --- Reading the document ----------------------------------------------------------------------


def pointer(parts):
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def lookup(parts):
    node = DOCUMENT
    for part in parts:
        node = node[part]
    return node


def resolve(node, parts):
    """Follow local `$ref`s; return the object and its location in the document."""
    while "$ref" in node:
        reference = node["$ref"]
        assert reference.startswith("#/"), f"only local references are used: {reference}"
        parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in reference[2:].split("/"))
        node = lookup(parts)
    return node, parts


def validator(parts):
    """A JSON Schema validator for the schema at `parts`, with every component resolvable."""
    schema = {"$ref": f"{DOCUMENT_URI}#{pointer(parts)}"}
    return OAS31Validator(schema, registry=REGISTRY, format_checker=OAS31Validator.FORMAT_CHECKER)


def schema_errors(parts, instance):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator(parts).iter_errors(instance)]


def openapi_path(rule):
    """Turn a Flask rule (`/shares/<sid>/chunks/<int:index>`) into a document path."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>",
                  lambda match: "{" + PARAMETER_NAMES[match[1]] + "}", rule)


def fill(path, share_id=UNKNOWN_ID, index=0):
    return path.replace("{id}", share_id).replace("{index}", str(index))


def plausible_request(path, method, token=SOME_TOKEN):
    """Keyword arguments for a request that passes every check made before storage is asked."""
    operation = DOCUMENT["paths"][path][method]
    kwargs = {"headers": bearer(token) if operation.get("security") else {}}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = VALID_CREATE
    elif "application/octet-stream" in content:
        kwargs["data"] = b"x" * 1000
        kwargs["headers"]["Content-Type"] = "application/octet-stream"
    return kwargs


# --- A client that checks every answer ---------------------------------------------------------


def check_response(response, path, method):
    """Assert that `response` is one the document declares for `method path`."""
    name = f"{method.upper()} {path}"
    operation = DOCUMENT["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{name} answered {status}, which the document does not list: {response.get_data()[:300]}"
    )
    declared, parts = resolve(operation["responses"][status],
                              ("paths", path, method, "responses", status))
    body = response.get_data()
    content = declared.get("content", {})
    if not content:
        assert body == b"", f"{name} {status} is documented without a body"
    else:
        assert response.mimetype in content, f"{name} {status} sent {response.mimetype}"
        if response.mimetype == "application/json":
            errors = schema_errors((*parts, "content", "application/json", "schema"),
                                   response.get_json())
            assert not errors, f"{name} {status} body {response.get_json()} breaks: {errors}"
    for header_name, header in declared.get("headers", {}).items():
        header, header_parts = resolve(header, (*parts, "headers", header_name))
        value = response.headers.get(header_name)
        if header.get("required"):
            assert value is not None, f"{name} {status} lacks the {header_name} header"
        if value is not None:
            instance = int(value) if value.isdigit() else value
            errors = schema_errors((*header_parts, "schema"), instance)
            assert not errors, f"{name} {status} header {header_name}: {value!r}: {errors}"
    if "Content-Length" in declared.get("headers", {}):
        assert int(response.headers["Content-Length"]) == len(body)
    if response.status_code < 300:
        sent_credentials = "Authorization" in response.request.headers
        assert sent_credentials == bool(operation.get("security")), (
            f"{name} succeeded, but its documented security is {operation.get('security')}"
        )


class Conformance:
    """A Flask test client that checks every answer against the document, then returns it."""

    def __init__(self, app):
        self.client = app.test_client()
        self.routes = app.url_map.bind("localhost")
        self.answers = []

    def operation_of(self, method, url):
        try:
            rule, _ = self.routes.match(urlsplit(url).path, method=method.upper(),
                                        return_rule=True)
        except (NotFound, MethodNotAllowed):
            pytest.fail(f"no route answers {method.upper()} {url}")
        return openapi_path(rule.rule), method

    def open(self, method, url, *, operation=None, **kwargs):
        path, verb = operation or self.operation_of(method, url)
        response = self.client.open(url, method=method.upper(), **kwargs)
        check_response(response, path, verb)
        self.answers.append((verb, path, response.status_code))
        return response

    def get(self, url, **kwargs):
        return self.open("get", url, **kwargs)

    def post(self, url, **kwargs):
        return self.open("post", url, **kwargs)

    def put(self, url, **kwargs):
        return self.open("put", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.open("delete", url, **kwargs)


def owner_of(share):
    return bearer(share.owner_token)


def chunk_url(share, index=0):
    return f"/api/v1/shares/{share.id}/chunks/{index}"


def share_url(share_id, suffix=""):
    return f"/api/v1/shares/{share_id}{suffix}"


def create_with(**changes):
    return {"json": {**VALID_CREATE, **changes}}


def proofs_of(share, access=None, password=None):
    return {"headers": proof_headers(access or share.access_token, password)}
