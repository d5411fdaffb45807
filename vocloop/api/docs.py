"""The interactive API page (Swagger UI), served from the swagger-ui-bundle package: no CDN, so it
works offline and under the app's Content-Security-Policy (no inline script)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")

# Only what the page loads; the package holds source maps and other builds that need not be public.
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-16x16.png", "favicon-32x32.png"}


@bp.get("")
def page():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
