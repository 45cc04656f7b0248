"""What users read cites papers by title, never by files they do not have."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_NAMES = re.compile(r"\.\./shared|\b(adarts|darts-gal|me-darts|ts-enas)\.md\b", re.IGNORECASE)


def user_facing_files():
    yield ROOT / "README.md"
    yield ROOT / "bench" / "RESULTS.md"
    for folder in ("toolkit", "widgets", "notebooks", "bench"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".ipynb", ".md", ".json"} and "__pycache__" not in path.parts:
                yield path


def test_no_file_names_a_paper_file_users_do_not_have():
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}"
                 for path in user_facing_files()
                 for match in PRIVATE_NAMES.finditer(path.read_text(encoding="utf-8"))]
    assert not offenders, "cite papers by title (README 'Papers'), not by file:\n" + "\n".join(offenders)


def test_readme_lists_every_paper_it_refers_to():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    papers = readme.split("## Papers", 1)[1]
    for method in ("DARTS", "PC-DARTS", "ADARTS", "DARTS-GAL", "ME-DARTS", "TS-ENAS"):
        assert f"- {method}:" in papers
