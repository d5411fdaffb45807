"""/api/v1/responses/<id>/corrections: a person's sentiment and topics for an answer, and their history."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView

from vocloop.api import schemas
from vocloop.api.auth import api_user
from vocloop.api.blueprint import api_blueprint
from vocloop.api.feedback import visible_responses
from vocloop.classify import corrections
from vocloop.extensions import db
from vocloop.items import permissions
from vocloop.responses.models import Response

blp = api_blueprint("api_v1_corrections", __name__, "Corrections of labels")


def _response_for(user, response_id: int, *, to_correct: bool) -> Response:
    response = db.session.scalar(visible_responses(user).where(Response.id == response_id))
    if response is None:
        abort(404)
    if to_correct and user.role != "admin" and not permissions.can_work(user, response.item):
        abort(403, description="Only the item's owner, their lead or an admin can correct its answer.")
    return response


@blp.route("/responses/<int:response_id>/corrections")
class ResponseCorrections(MethodView):
    @blp.response(200, schemas.CorrectionOut(many=True))
    def get(self, response_id):
        """The answer's corrections, the latest first: who set which label or topics, and when."""
        return corrections.corrections_of(_response_for(api_user(), response_id, to_correct=False).id)

    @blp.arguments(schemas.CorrectionIn)
    @blp.response(201, schemas.CorrectionOut)
    def post(self, data, response_id):
        """Set the answer's sentiment and/or topics as they are; its item follows, re-classification keeps
        them, and `flask --app vocloop retrain` learns from them."""
        user = api_user()
        response = _response_for(user, response_id, to_correct=True)
        return corrections.correct_response(user, response, label=data.get("sentiment_label"),
                                            topics=data.get("topics"), source="api")
