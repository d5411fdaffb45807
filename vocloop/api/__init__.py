"""The JSON API (flask-smorest): OpenAPI spec at /api/openapi.json, errors as problem details."""

from __future__ import annotations

from apispec import APISpec
from flask import Flask
from flask_smorest import Api

from vocloop.api.auth import api_rate_limit, rate_limit_key
from vocloop.api.contract import ContractPlugin, keyed_properties, shaped_properties
from vocloop.api.schemas import ProblemOut
from vocloop.extensions import csrf, limiter

# The OpenAPI document depends only on the code and the API_/OPENAPI_ settings, so a process builds it once
# per set of them: building it converts every schema of every route (nearly half of an app's start: 138-147
# -> 72-83 ms of CPU; the tests build an app per test).
_DOCUMENTS: dict[tuple, APISpec] = {}


class VocloopApi(Api):
    ERROR_SCHEMA = ProblemOut

    def _register_error_handlers(self):
        """vocloop.http_errors handles errors app-wide, in one problem+json shape for /api."""

    def register_blueprint(self, blp, **options):
        """The routes always; their documentation only while this process has no document for them."""
        if self._document_key() not in _DOCUMENTS:
            super().register_blueprint(blp, **options)
            return
        self._app.extensions["flask-smorest"]["blp_name_to_api"][options.get("name", blp.name)] = self
        self._app.register_blueprint(blp, **options)

    def _document_key(self) -> tuple:
        return tuple(sorted((key, repr(value)) for key, value in self._app.config.items()
                            if key.startswith(("API_", "OPENAPI_"))))


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "vocloop")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = VocloopApi(app, spec_kwargs={"extra_plugins": [ContractPlugin()], "components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    for attribute_function in (shaped_properties, keyed_properties):
        api.ma_plugin.converter.add_attribute_function(attribute_function)
    from vocloop.api import (
        announcements,
        classifier,
        company,
        corrections,
        directory,
        exports,
        feedback,
        routing,
        themes,
        topics,
        webhooks,
    )
    from vocloop.api.blueprint import api_v1
    from vocloop.api.docs import bp as docs_bp

    # isort: off
    # These four add their routes to api_v1 as they are imported: in this order, the OpenAPI document
    # lists their paths in the order it always has (tests/integration/test_api.py checks it).
    from vocloop.api import contacts, surveys, sends, metrics  # noqa: F401
    # isort: on

    app.register_blueprint(docs_bp)
    for blueprint in (api_v1, directory.blp, feedback.blp, corrections.blp, routing.blp, topics.blp, webhooks.blp,
                      exports.blp, company.blp, announcements.blp, themes.blp, classifier.blp):
        csrf.exempt(blueprint)
        limiter.limit(api_rate_limit, key_func=rate_limit_key)(blueprint)
        api.register_blueprint(blueprint)
    api.spec = _DOCUMENTS.setdefault(api._document_key(), api.spec)
