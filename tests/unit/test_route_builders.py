"""The suite's cache of werkzeug's URL builders (tests/support/route_builders.py) gives every rule of a
new app the very function werkzeug would have compiled for it, and builds the same URLs."""

from tests.support.route_builders import uncached_builder


def test_every_rule_of_a_new_app_gets_the_builder_werkzeug_would_compile(settings):
    from vocloop import create_app

    create_app(settings)  # the first app fills the cache; this one takes from it
    app = create_app(settings)
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 100
    for rule in rules:
        for append_unknown, built in ((False, rule._build), (True, rule._build_unknown)):
            assert built.__func__.__code__ == uncached_builder(rule, append_unknown).__code__, rule.rule
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="app.css", v=3) == "/static/app.css?v=3"
