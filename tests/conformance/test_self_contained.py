"""The tree needs nothing outside itself: the spec the conformance suite reads lives in
docs/hex-api/, and every relative link of README.md and docs/ resolves to a file inside
the repository (a link that climbs out of it works on one machine only; one to a page not
written yet is a broken link).

Run by `make check-conformance`.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spec import ROOT, SPEC_PATH  # noqa: E402

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _markdown_files():
    yield os.path.join(ROOT, "README.md")
    for base, _, names in os.walk(os.path.join(ROOT, "docs")):
        for name in names:
            if name.endswith(".md"):
                yield os.path.join(base, name)


def _inside(path):
    return os.path.realpath(path).startswith(os.path.realpath(ROOT) + os.sep)


def test_spec_is_inside_the_tree():
    assert _inside(SPEC_PATH), SPEC_PATH
    assert os.path.isfile(SPEC_PATH), SPEC_PATH


def test_doc_links_stay_inside_the_tree():
    bad = []
    for md in _markdown_files():
        with open(md, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for target in LINK.findall(line):
                    if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                        continue  # URLs and in-page anchors
                    path = os.path.join(os.path.dirname(md), target.split("#")[0])
                    if not _inside(path) or not os.path.exists(path):
                        bad.append(f"{os.path.relpath(md, ROOT)}:{n}: {target}")
    assert not bad, "links that leave the tree or point nowhere:\n" + "\n".join(bad)
