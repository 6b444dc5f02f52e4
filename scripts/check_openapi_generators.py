"""Does the OpenAPI spec survive the generators a new user would try? First the rules that keep
it generator-proof, checked on the document itself (``spec_problems``): one type per field (no
object-or-array ``type`` lists, no ``allOf`` with sibling properties, which generators drop), an
example on every schema and operation that validates against its schema, errors answered with
the ``ErrorBody`` envelope, images as ``format: binary`` under their real media types, and
``operationId``s that read as method names. Then it runs
``openapi-python-client`` (pinned in the dev extras; settings in
``clients/generator-check/openapi-python-client.yaml``) and ``openapi-typescript`` (npm, pinned
with a lockfile in ``clients/generator-check/``) on ``services/gateway/docs/openapi.json`` and
reports every problem: a generator error or warning, an operation or schema the Python client
dropped, a ``never`` or ``unknown`` in a TypeScript response type.

``python -m scripts.check_openapi_generators`` prints the problems (exit 1 if any);
``tests/deploy/test_openapi_generators.py`` runs the same in CI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT: Final = Path(__file__).resolve().parents[1]
SPEC: Final = ROOT / "services" / "gateway" / "docs" / "openapi.json"
CHECK_DIR: Final = ROOT / "clients" / "generator-check"
PYTHON_CONFIG: Final = CHECK_DIR / "openapi-python-client.yaml"
HTTP_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
TIMEOUT_S: Final = 300

_ENDPOINT = re.compile(r'"method":\s*"(\w+)",\s*"url":\s*f?"([^"]+)"')
_CLASS = re.compile(r"^class (\w+)\b", re.MULTILINE)
_NEVER_OR_UNKNOWN = re.compile(r"\b(never|unknown)\b")
# Emitted by openapi-typescript for every response: headers it does not list may exist.
_HEADER_INDEX = re.compile(r"headers:\s*\{[^{}]*?\[name: string\]: unknown;?", re.DOTALL)
_NO_BODY = re.compile(r"content\?: never;?")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_SCHEMA_REF = re.compile(r'components\["(schemas|responses)"\]\["([^"]+)"\]')


BINARY_MEDIA: Final = re.compile(r"^(image/|application/(pdf|postscript|zip|octet-stream)$)")
OPERATION_ID: Final = re.compile(
    r"^(get|list|create|update|delete|generate|download|decode|revoke|set|batch|embed|start"
    r"|export|import|retry|send|test|stream|replace|add|remove|cancel|verify|preview|render"
    r"|upload|rotate|enable|disable|search|count|check|repoint)([A-Z][A-Za-z0-9]*)?$"
)
ERROR_BODY_REF: Final = "#/components/schemas/ErrorBody"
SPEC_URI: Final = "urn:qrforge:openapi"


def load_spec(path: Path = SPEC) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in the spec."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


# --- rules on the document ------------------------------------------------------------------


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _has_example(node: Any) -> bool:
    return isinstance(node, dict) and ("example" in node or "examples" in node)


def _walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object under ``node`` with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


def _schema_shape_problems(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for where, node in _walk(spec, "#"):
        types = node.get("type")
        if isinstance(types, list) and "object" in types and "array" in types:
            problems.append(f"spec: {where} is typed object-or-array: one type per field")
        if isinstance(node.get("allOf"), list) and ("properties" in node or "required" in node):
            problems.append(
                f"spec: {where} has properties beside allOf (generators drop them): "
                "put them in an allOf member"
            )
    return problems


def _operation_problems(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    ids: set[str] = set()
    for method, path, operation in operations(spec):
        name = f"{method.upper()} {path}"
        operation_id = operation.get("operationId", "")
        if not OPERATION_ID.match(operation_id):
            problems.append(
                f"spec: {name}: operationId {operation_id!r} is not a verb-first method name"
            )
        if operation_id in ids:
            problems.append(f"spec: {name}: operationId {operation_id!r} is used twice")
        ids.add(operation_id)
        examples = 0
        body = _resolve(spec, operation.get("requestBody", {}))
        for media_type, media in body.get("content", {}).items():
            if _has_example(media) or _has_example(_resolve(spec, media.get("schema"))):
                examples += 1
            elif media_type == "application/json":
                problems.append(f"spec: {name}: the JSON request body has no example")
        shared = spec["paths"][path].get("parameters", [])
        for reference in [*shared, *operation.get("parameters", [])]:
            parameter = _resolve(spec, reference)
            if _has_example(parameter) or _has_example(_resolve(spec, parameter.get("schema"))):
                examples += 1
        for status, answer in operation.get("responses", {}).items():
            content = _resolve(spec, answer).get("content", {})
            if status.startswith("2"):
                for media_type, media in content.items():
                    schema = _resolve(spec, media.get("schema", {}))
                    if media_type == "application/json":
                        if _has_example(media):
                            examples += 1
                        else:
                            problems.append(f"spec: {name}: response {status} has no example")
                    elif BINARY_MEDIA.match(media_type) and not (
                        schema.get("type") == "string" and schema.get("format") == "binary"
                    ):
                        problems.append(
                            f"spec: {name}: {media_type} response {status} is not "
                            "`type: string, format: binary`"
                        )
            elif status[:1] in "45":
                refs = [media.get("schema", {}).get("$ref") for media in content.values()]
                if not refs or any(ref != ERROR_BODY_REF for ref in refs):
                    problems.append(
                        f"spec: {name}: error response {status} does not answer the ErrorBody envelope"
                    )
        if not examples:
            problems.append(f"spec: {name}: no example (request, parameters or response)")
    return problems


def _example_problems(spec: dict[str, Any]) -> list[str]:
    """Every schema has an example, and every example validates against its schema."""
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )

    def invalid(example: Any, schema: Any) -> str | None:
        validator = Draft202012Validator(schema, registry=registry)
        error = next(iter(validator.iter_errors(example)), None)
        return None if error is None else f"{error.json_path}: {error.message[:160]}"

    problems: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        if schema.get("format") == "binary" or "enum" in schema:
            continue  # raw bytes have no JSON example; an enum lists its values already
        if not _has_example(schema):
            problems.append(f"spec: schema {name} has no example")
            continue
        reference = {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}
        for example in schema.get("examples", []) + (
            [schema["example"]] if "example" in schema else []
        ):
            if (error := invalid(example, reference)) is not None:
                problems.append(f"spec: schema {name}: example does not validate: {error}")
    for where, node in _walk(spec["paths"], "#/paths"):
        if "schema" not in node or not ("example" in node or "examples" in node):
            continue
        if not isinstance(node["schema"], dict):
            continue
        schema = _absolute(node["schema"])
        values = [node["example"]] if "example" in node else []
        examples = node.get("examples", {})
        values += [e["value"] for e in examples.values()] if isinstance(examples, dict) else []
        for value in values:
            if (error := invalid(value, schema)) is not None:
                problems.append(f"spec: {where}: example does not validate: {error}")
    return problems


def _absolute(schema: Any) -> Any:
    """``schema`` with its local ``$ref``s pointing into the registered document."""
    text = json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{SPEC_URI}#/')
    return json.loads(text)


def spec_problems(spec: dict[str, Any]) -> list[str]:
    return _schema_shape_problems(spec) + _operation_problems(spec) + _example_problems(spec)


# --- openapi-python-client ------------------------------------------------------------------


def python_generator_warnings(output: str) -> list[str]:
    """The generator's warnings, one text block each (it exits 0 when it drops things)."""
    # "Generating <dir>" opens the output; the rest is blocks separated by blank lines.
    output = "\n".join(line for line in output.splitlines() if not line.startswith("Generating "))
    blocks = [block.strip() for block in re.split(r"\n\s*\n", output) if block.strip()]
    flagged = ("WARNING", "Warning", "Unable to", "Cannot parse", "Failure", "Error", "removal")
    return [
        block
        for block in blocks
        if any(word in block for word in flagged)
        and "If you believe this was a mistake" not in block
    ]


def python_dropped(spec: dict[str, Any], package: Path) -> list[str]:
    """Operations without an endpoint module and object schemas without a model class."""
    generated = set()
    for module in package.glob("api/**/*.py"):
        for method, url in _ENDPOINT.findall(module.read_text()):
            generated.add((method.lower(), url))
    problems = [
        f"python client: no endpoint for {method.upper()} {path}"
        for method, path, _ in operations(spec)
        if (method, path) not in generated
    ]
    classes = set()
    for module in package.glob("models/*.py"):
        classes.update(_CLASS.findall(module.read_text()))
    for name, schema in spec["components"]["schemas"].items():
        is_model = schema.get("type") == "object" and "properties" in schema
        if is_model and _class_name(name) not in classes:
            problems.append(f"python client: schema {name} was dropped")
    return problems


def _class_name(schema_name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", schema_name)
    return "".join(part[:1].upper() + part[1:] for part in parts if part)


def check_python_client(spec_path: Path, workdir: Path) -> list[str]:
    executable = Path(sys.executable).parent / "openapi-python-client"
    command = [str(executable)] if executable.exists() else ["openapi-python-client"]
    out = workdir / "python-client"
    done = subprocess.run(  # noqa: S603 (fixed arguments: the pinned tool and repo paths)
        [
            *command,
            "generate",
            "--path",
            str(spec_path),
            "--config",
            str(PYTHON_CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        # Its post-generation hook runs ruff, which sits beside this interpreter.
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
    )
    output = done.stdout + "\n" + done.stderr
    problems = [f"python client: {block}" for block in python_generator_warnings(output)]
    if done.returncode != 0:
        return [f"python client: exit {done.returncode}\n{output.strip()}", *problems]
    return problems + python_dropped(load_spec(spec_path), out)


# --- openapi-typescript ---------------------------------------------------------------------


def _block_after(text: str, start: int) -> tuple[str, int]:
    """The ``{…}`` block that opens at or after ``start`` (braces balanced), and its end."""
    opening = text.index("{", start)
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[opening : index + 1], index + 1
    raise ValueError("unbalanced braces")


def _members(block: str) -> dict[str, str]:
    """Top-level ``name: type;`` members of a ``{…}`` block (names unquoted)."""
    members: dict[str, str] = {}
    body = block[1:-1]
    index = 0
    member = re.compile(r'\s*(?:"([^"]+)"|([A-Za-z0-9_$][\w$-]*))\??:\s*')
    while index < len(body):
        found = member.match(body, index)
        if found is None:
            index += 1
            continue
        name = found.group(1) or found.group(2)
        cursor = found.end()
        depth = 0
        end = cursor
        while end < len(body):
            char = body[end]
            if char in "{([<":
                depth += 1
            elif char in "})]>":
                depth -= 1
            elif char == ";" and depth == 0:
                break
            end += 1
        members[name] = body[cursor:end]
        index = end + 1
    return members


def typescript_response_problems(declarations: str) -> list[str]:
    """``never``/``unknown`` anywhere in a response body type: the responses of every
    operation and of ``components.responses``, and every schema they reach."""
    text = _COMMENT.sub("", declarations)
    components, _ = _block_after(text, text.index("export interface components"))
    sections = _members(components)
    schemas = _members(sections.get("schemas", "{}"))
    shared_responses = _members(sections.get("responses", "{}"))
    operations_block, _ = _block_after(text, text.index("export interface operations"))

    problems: list[str] = []
    pending: list[tuple[str, str]] = []
    for operation, body in _members(operations_block).items():
        responses = _members(body).get("responses", "{}")
        for status, response in _members(responses).items():
            pending.append((f"{operation} {status}", response))
    for name, response in shared_responses.items():
        pending.append((f"responses.{name}", response))

    seen: set[str] = set()
    while pending:
        where, response_type = pending.pop()
        content = _content_of(response_type)
        if content is None:
            continue
        for match in _NEVER_OR_UNKNOWN.finditer(content):
            problems.append(f"typescript: `{match.group(1)}` in {where}: {_around(content, match)}")
        for section, name in _SCHEMA_REF.findall(content):
            key = f"{section}.{name}"
            if key in seen:
                continue
            seen.add(key)
            if section == "responses" and name in shared_responses:
                continue  # checked on its own
            if section == "schemas" and name in schemas:
                pending.append((f"schema {name}", "{ content: " + schemas[name] + "; }"))
    return problems


def _content_of(response_type: str) -> str | None:
    """The body types of one response (its ``content`` member), without header maps."""
    stripped = _HEADER_INDEX.sub("headers: {", response_type)
    stripped = _NO_BODY.sub("", stripped)
    if response_type.lstrip().startswith("components["):
        return response_type  # a reference to components.responses: checked there
    if not stripped.lstrip().startswith("{"):
        return stripped
    return _members(stripped).get("content")


def _around(text: str, match: re.Match[str]) -> str:
    start = max(0, match.start() - 60)
    return " ".join(text[start : match.end() + 20].split())


def check_typescript(spec_path: Path, workdir: Path) -> list[str]:
    npm = shutil.which("npm")
    if npm is None:
        return ["typescript: npm is not installed (Node.js 18+ is needed for openapi-typescript)"]
    if not (CHECK_DIR / "node_modules" / "openapi-typescript").exists():
        installed = subprocess.run(  # noqa: S603 (npm ci of the repo's lockfile)
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(CHECK_DIR)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        if installed.returncode != 0:
            return [f"typescript: npm ci failed\n{installed.stderr.strip()}"]
    out = workdir / "api.d.ts"
    binary = CHECK_DIR / "node_modules" / ".bin" / "openapi-typescript"
    done = subprocess.run(  # noqa: S603 (the pinned tool on the repo's spec)
        [str(binary), str(spec_path), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    output = (done.stdout + "\n" + done.stderr).strip()
    problems = [
        f"typescript: {line.strip()}"
        for line in output.splitlines()
        if re.search(r"warn|error|✘|⚠", line, re.IGNORECASE)
    ]
    if done.returncode != 0 or not out.exists():
        return [f"typescript: exit {done.returncode}\n{output}", *problems]
    return problems + typescript_response_problems(out.read_text())


def check(spec_path: Path = SPEC) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="openapi-generators-") as scratch:
        workdir = Path(scratch)
        return (
            spec_problems(load_spec(spec_path))
            + check_python_client(spec_path, workdir)
            + check_typescript(spec_path, workdir)
        )


def main() -> int:
    problems = check(Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC)
    for problem in problems:
        print(problem, end="\n\n")
    print(f"{len(problems)} problem(s)" if problems else "both generators ran clean")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
