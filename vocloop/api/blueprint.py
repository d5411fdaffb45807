"""Every /api/v1 blueprint is made here, so each gets the same guards in the same order."""

from __future__ import annotations

from flask_smorest import Blueprint

from vocloop.api import idempotency
from vocloop.api.auth import authenticate_request
from vocloop.api.contract import require_a_field_in_patches


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """Token authentication first (the Idempotency-Key belongs to the token's user), then the key;
    a PATCH without a field is refused before anything runs."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(require_a_field_in_patches)
    idempotency.protect(blueprint)
    return blueprint


# The first resources' blueprint: contacts in bulk, surveys, sends and metrics (api/contacts.py, surveys.py,
# sends.py, metrics.py) add their routes to it. Its name is their OpenAPI tag, and so a module of every
# generated client (vocloop_client.api.api_v1): one blueprint, whichever modules hold the routes.
api_v1 = api_blueprint("api_v1", "vocloop.api", "vocloop JSON API, version 1")
