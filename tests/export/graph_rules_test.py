"""The export boundary owns the export constraints: the backend-agnostic
core names no exporter, and every rule it cites is one of
`kerpix.export.graph_rules.RULES` (each of which the core cites)."""

import os
import re

import pytest

from kerpix.export import graph_rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CORE = ("ops", "layers", "heads", "models")
CITATION = re.compile(r"graph\s+(?:#\s*)?rule\s+(?:#\s*)?`([a-z-]+)`")


def core_files():
    for package in CORE:
        top = os.path.join(ROOT, "kerpix", package)
        for folder, _, names in os.walk(top):
            for name in names:
                if name.endswith(".py"):
                    yield os.path.join(folder, name)


def test_the_core_names_no_exporter():
    offending = []
    for path in core_files():
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if re.search(r"onnx", line, re.IGNORECASE):
                    offending.append(f"{os.path.relpath(path, ROOT)}:{number}")
    assert not offending, offending


def test_every_cited_rule_exists_and_every_rule_is_cited():
    cited = set()
    for path in core_files():
        with open(path, encoding="utf-8") as f:
            cited |= set(CITATION.findall(f.read()))
    assert cited, "the core cites no export graph rule"
    assert cited <= set(graph_rules.RULES), cited - set(graph_rules.RULES)
    assert set(graph_rules.RULES) <= cited, set(graph_rules.RULES) - cited


def test_unknown_rule():
    assert "scatter" in graph_rules.rule("scatter-writes")
    with pytest.raises(ValueError, match=r"Received: name='nope'"):
        graph_rules.rule("nope")
