"""Each test builds its own app (tests/conftest.py's `app`), and for every URL rule werkzeug writes and
compiles two small Python functions that build its URLs: some 180 rules, 360 calls to `compile()`, most
of an app's start (125 -> 45 ms of CPU). A function depends only on the rule's text, its parsed parts
and its defaults, never on the app that holds it (it reads the rule through its first argument), so
each process of the suite compiles each function once and every later app reuses it.

`install()` is called once by tests/conftest.py; `uncached_builder` is werkzeug's own, for the test
that checks every rule of an app gets the very code werkzeug would have compiled for it."""

from __future__ import annotations

from werkzeug.routing.rules import Rule

uncached_builder = Rule._compile_builder
_compiled: dict[tuple, object] = {}


def _builder_compiled_once(self: Rule, append_unknown: bool = True):
    defaults = self.defaults or {}
    # Everything _compile_builder reads: the parsed rule, which defaults it has (a default of a part of the
    # rule becomes a constant, as its converter writes it), and the rule's text (the function's name).
    key = (self.rule, append_unknown, tuple(self._trace),
           tuple((name, self._converters[name].to_url(value) if name in self._converters else None)
                 for name, value in defaults.items()))
    builder = _compiled.get(key)
    if builder is None:
        builder = _compiled[key] = uncached_builder(self, append_unknown)
    return builder


def install() -> None:
    Rule._compile_builder = _builder_compiled_once
