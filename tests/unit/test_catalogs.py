"""Every language vocloop ships speaks every customer-facing string: a catalog that lacks a string,
keeps one nobody uses any more, or changes a placeholder fails here (and names what to fix)."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2.ext import extract_from_ast

from vocloop import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CODE = ROOT / "vocloop"
MARKERS = ("translate", "N_")


def template_messages() -> set[str]:
    """Every _("...") of every template, read by Jinja's own parser (as Babel's extractor does)."""
    env = Environment(autoescape=True)
    found = set()
    for path in TEMPLATES.rglob("*"):
        if path.suffix in (".html", ".txt"):
            tree = env.parse(path.read_text(encoding="utf-8"))
            found |= {args[0] for _, _, args in extract_from_ast(tree, ("_",), babel_style=False)
                      if args and isinstance(args[0], str)}
    return found


def code_messages() -> set[str]:
    """Every translate("...") and N_("...") in the code (implicit concatenation joined by ast)."""
    found = set()
    for path in CODE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) and getattr(node.func, "id", None) in MARKERS:
                found.add(node.args[0].value)
    return found


def messages() -> set[str]:
    return template_messages() | code_messages()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_extraction_finds_strings_of_templates_code_and_marked_labels():
    found = messages()
    assert "Unsubscribe from surveys and updates" in found  # a template's _()
    assert "Hi {name}," in found  # the code's translate()
    assert "Not at all likely" in found  # a survey kind's label, marked with N_()
    assert len(found) > 40


@pytest.mark.parametrize("language", [code for code in i18n.available_languages() if code != "en"])
def test_each_catalog_has_every_string_with_the_same_placeholders(language):
    catalog = json.loads((i18n.LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    wanted = messages()
    missing = sorted(wanted - set(catalog))
    assert not missing, f"{language}.json lacks {len(missing)} string(s): {missing}"
    stale = sorted(set(catalog) - wanted)
    assert not stale, f"{language}.json has strings nothing uses any more: {stale}"
    wrong = {source: translation for source, translation in catalog.items()
             if placeholders(source) != placeholders(translation) or not translation.strip()}
    assert not wrong, f"{language}.json: placeholders differ from the English (or empty): {wrong}"


def test_german_french_and_spanish_ship_beside_english():
    assert {"en", "de", "fr", "es"} <= set(i18n.available_languages())
