"""Regenerate the committed conformance fixtures from ``../shared``.

    python tests/conformance/make_fixtures.py [--shared ../shared]

Writes ``tests/conformance/data/``:

* ``jsts-draft2020-12.json.xz``: the JSON-Schema-Test-Suite (json-schema-org, MIT
  licence) ``tests/draft2020-12/*.json`` and ``optional/format/*.json`` as
  ``{"groups": {file: [...]}, "remotes": {uri: schema}}`` (remotes are served at
  ``http://localhost:1234/`` as the suite expects);
* ``maskbench-sample.jsonl.xz``: a stratified sample of MaskBench's development
  half (guidance-ai/jsonschemabench, MIT licence): ``SAMPLE_PER_SPLIT`` records per
  split (the prefix of the record id), chosen with a fixed seed.
"""

from __future__ import annotations

import argparse
import glob
import json
import lzma
import os
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SAMPLE_PER_SPLIT = 15


def split_of(record_id: str) -> str:
    return record_id.split("---")[0] if "---" in record_id else record_id.rsplit("_", 1)[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(HERE.parents[2] / "shared"))
    args = ap.parse_args()
    shared = Path(args.shared)
    suite = shared / "json-schema-test-suite"
    groups = {}
    for path in sorted(glob.glob(str(suite / "tests/draft2020-12/*.json"))) + \
            sorted(glob.glob(str(suite / "tests/draft2020-12/optional/format/*.json"))):
        rel = os.path.relpath(path, suite / "tests/draft2020-12")[:-len(".json")]
        groups[rel] = json.load(open(path, encoding="utf-8"))
    remotes = {}
    for path in glob.glob(str(suite / "remotes/**/*.json"), recursive=True):
        rel = os.path.relpath(path, suite / "remotes")
        remotes["http://localhost:1234/" + rel.replace(os.sep, "/")] = json.load(open(path, encoding="utf-8"))
    DATA.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"groups": groups, "remotes": remotes}, ensure_ascii=False).encode()
    (DATA / "jsts-draft2020-12.json.xz").write_bytes(lzma.compress(blob, preset=9))
    by_split: dict[str, list[str]] = {}
    with open(shared / "maskbench" / "dev.jsonl", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            by_split.setdefault(split_of(rec["id"]), []).append(line.strip())
    rng = random.Random(20241126)
    lines = []
    for split in sorted(by_split):
        recs = by_split[split]
        lines.extend(rng.sample(recs, min(SAMPLE_PER_SPLIT, len(recs))))
    (DATA / "maskbench-sample.jsonl.xz").write_bytes(lzma.compress(("\n".join(lines) + "\n").encode(), preset=9))


if __name__ == "__main__":
    main()
