#!/usr/bin/python3
"""Validates a JSON document against the JSON Schema block of a Markdown file.

usage: validate_json.py DOC.md DATA.json
"""
import json
import re
import sys

import jsonschema


def main() -> int:
    doc, data = sys.argv[1], sys.argv[2]
    blocks = re.findall(r"```json\n(.*?)```", open(doc, encoding="utf-8").read(), re.S)
    schemas = [json.loads(b) for b in blocks if '"$schema"' in b]
    if len(schemas) != 1:
        print(f"{doc}: expected one JSON Schema block, found {len(schemas)}")
        return 2
    schema = schemas[0]
    # "$id" is a name, not a place to fetch; older jsonschema releases would try to resolve it.
    schema.pop("$id", None)
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(data, encoding="utf-8"))))
    for e in errors[:10]:
        print(f"{data}: {'/'.join(str(p) for p in e.absolute_path)}: {e.message}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
