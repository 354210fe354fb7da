"""Checks recorded API exchanges against the OpenAPI 3.1 document the server serves.

Usage: openapi_conformance.py OPENAPI.json EXCHANGES.jsonl

Each line of EXCHANGES.jsonl is one response the tests received:
  {"method": "GET", "template": "/v1/jobs/{id}", "status": 200, "contentType": "...", "body": <JSON or null>}
For each, the documented response for that method, path template and status must exist;
its content type must be documented; and a JSON body must validate against the documented
schema (JSON Schema 2020-12, as OpenAPI 3.1 uses, with the document's components as refs).
Prints one line per problem and exits 1 if there is any.
"""
import json
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = "urn:jobgate-openapi"


def main() -> int:
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    registry = Registry().with_resource(ROOT, Resource(contents=doc, specification=DRAFT202012))
    problems, checked = [], 0
    with open(sys.argv[2]) as f:
        for line in f:
            if not line.strip():
                continue
            ex = json.loads(line)
            where = f'{ex["method"]} {ex["template"]} -> {ex["status"]}'
            operation = doc["paths"].get(ex["template"], {}).get(ex["method"].lower())
            if operation is None:
                problems.append(f"{where}: operation not documented")
                continue
            response = operation["responses"].get(str(ex["status"])) or operation["responses"].get("default")
            if response is None:
                problems.append(f"{where}: status not documented")
                continue
            pointer = "#"
            if "$ref" in response:
                pointer = response["$ref"]
                response = resolve(doc, pointer)
            content = response.get("content")
            media = (ex.get("contentType") or "").split(";")[0].strip()
            if not content:
                if ex.get("body") not in (None, ""):
                    problems.append(f"{where}: a body was sent but none is documented")
                continue
            if media not in content:
                problems.append(f"{where}: content type {media!r} not documented ({', '.join(content)})")
                continue
            schema = content[media].get("schema")
            if schema is None or media != "application/json":
                continue
            validator = Draft202012Validator({"$ref": ROOT + "#/" + path_to(doc, schema)}, registry=registry)
            for error in validator.iter_errors(ex["body"]):
                problems.append(f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path)) or 'the top'}")
            checked += 1
    for p in problems:
        print(p)
    print(f"{checked} JSON bodies checked, {len(problems)} problems")
    return 1 if problems else 0


def resolve(doc, pointer):
    node = doc
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def path_to(doc, target, here=None, path=""):
    """The JSON pointer (without '#/') of `target` inside `doc`, found by identity."""
    here = doc if here is None else here
    if here is target:
        return path.lstrip("/")
    items = here.items() if isinstance(here, dict) else enumerate(here) if isinstance(here, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            found = path_to(doc, target, value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")
            if found is not None:
                return found
    return None


if __name__ == "__main__":
    sys.exit(main())
