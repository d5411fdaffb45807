"""Pages for some roles only: one guard, put on a whole blueprint."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required


def only_for(blueprint: Blueprint, *roles: str) -> None:
    """Every page of the blueprint needs a signed-in user with one of these roles (else 403)."""

    @blueprint.before_request
    @login_required
    def check_role():
        if current_user.role not in roles:
            abort(403)
