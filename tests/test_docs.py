"""Every citation in the code and the docs resolves to something in this repository.

A newcomer follows ``docs/methodology.md §5`` or ``docs/design-notes.md trap 4`` from a
docstring, or a link from a doc page: each must land on a file of the repo and, for a section
or a trap, on its heading. Nothing may point to the team's notes outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP = (
    "docs", "tests", "accounting", "ledger", "telemetry", "gateway", "access", "api",
    "reports", "dashboards", "simulators", "sitetime", "tanzhang", "bench", "deploy", "scripts",
    "mqttlink",
)  # fmt: skip
#: files the docs tell an operator to make (from an example that is in the repo)
MADE_BY_THE_OPERATOR = {"deploy/registry.toml"}
TEXT = ("*.py", "*.md", "*.toml", "*.html", "*.js", "*.yml", "*.sh", "Dockerfile")


def tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--", *TEXT], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / p for p in out if (ROOT / p).is_file()]


def texts() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in tracked()}


#: a repo path written in prose or code: a top-level folder, then a file with an extension
PATH = re.compile(
    r"(?<![\w/.:-])((?:"
    + "|".join(TOP)
    + r")/[\w./-]*?\.(?:md|py|toml|json|html|js|css|yml|sh|csv|sql))\b"
)


def test_every_repo_path_mentioned_exists() -> None:
    missing = []
    for name, text in texts().items():
        for m in PATH.finditer(text):
            path = m.group(1)
            if "*" in path or "<" in path or "{" in path or path in MADE_BY_THE_OPERATOR:
                continue
            if not (ROOT / path).exists():
                missing.append(f"{name}: {path}")
    assert not missing, "paths that are not in the repo:\n" + "\n".join(sorted(set(missing)))


def _headings(doc: str) -> list[str]:
    return [
        ln for ln in (ROOT / doc).read_text(encoding="utf-8").splitlines() if ln.startswith("#")
    ]


def test_methodology_sections_cited_exist() -> None:
    heads = " ".join(_headings("docs/methodology.md"))
    cited = set()
    for text in texts().values():
        cited |= set(re.findall(r"docs/methodology\.md ?§ ?([0-9]+(?:\.[0-9]+)*[a-z]?)", text))
    assert cited, "the code cites the methodology: the pattern must find the citations"
    missing = sorted(s for s in cited if not re.search(rf"§{re.escape(s)}\b", heads))
    assert not missing, f"docs/methodology.md has no section §{missing}"


def test_design_note_traps_cited_exist() -> None:
    notes = (ROOT / "docs/design-notes.md").read_text(encoding="utf-8")
    traps = notes.split("## Traps", 1)[1]
    numbered = {int(n) for n in re.findall(r"^(\d+)\. ", traps, re.M)}
    cited = set()
    for text in texts().values():
        cited |= {int(n) for n in re.findall(r"docs/design-notes\.md,? trap (\d+)", text)}
    assert cited, "the code cites the design notes: the pattern must find the citations"
    assert cited <= numbered, f"traps cited but not in docs/design-notes.md: {cited - numbered}"


@pytest.mark.parametrize(
    "doc", sorted(str(p.relative_to(ROOT)) for p in tracked() if p.suffix == ".md")
)
def test_markdown_links_resolve(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if not (ROOT / doc).parent.joinpath(path).resolve().exists():
            bad.append(target)
    assert not bad, f"{doc} links to files that are not there: {bad}"


def test_nothing_points_outside_the_repo() -> None:
    """Every markdown file named anywhere is one of the repo's, no relative path climbs out of
    the repo, and a section or trap is cited with the repo file that holds it (a bare
    upper-case name with a section sign or a trap number names notes a newcomer does not
    have)."""
    docs = {p.relative_to(ROOT) for p in tracked() if p.suffix == ".md"}
    names = {p.name for p in docs}
    md = re.compile(r"(?<![\w/.:-])((?:\.\./|\./)*[\w/-]*[\w-]+\.md)\b")
    climb = re.compile(r"(?<![\w/.-])((?:\.\./)+[\w./-]+)")
    bare_citation = re.compile(r"\b[A-Z][A-Z_-]{2,}(?:\.md)? ?(?:§ ?\d|trap \d)")
    hits = []
    for name, text in texts().items():
        here = (ROOT / name).parent
        for i, line in enumerate(text.splitlines(), 1):
            if "://" in line and not md.search(line.split("://", 1)[0]):
                line = line.split("://", 1)[0]
            for m in md.finditer(line):
                ref = m.group(1)
                ok = (
                    ref in names
                    if "/" not in ref
                    else any(
                        (base / ref).resolve() in {ROOT / d for d in docs} for base in (ROOT, here)
                    )
                )
                if not ok:
                    hits.append(f"{name}:{i}: {ref}")
            for m in climb.finditer(line):
                if ROOT not in (here / m.group(1)).resolve().parents:
                    hits.append(f"{name}:{i}: {m.group(1)}")
            if bare_citation.search(line):
                hits.append(f"{name}:{i}: {bare_citation.search(line).group(0)}")
    assert not hits, "references to files that are not in the repository:\n" + "\n".join(hits)
