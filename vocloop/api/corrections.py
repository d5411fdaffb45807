"""/api/v1/responses/<id>/corrections: a person's sentiment and topics for an answer, and their history."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api.auth import api_user
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import positive_ids_in
from vocloop.api.feedback import visible_responses
from vocloop.api.schemas import Int, one_of
from vocloop.classify import corrections
from vocloop.extensions import db
from vocloop.items import permissions
from vocloop.responses.models import Response
from vocloop.values import SENTIMENTS

blp = api_blueprint("api_v1_corrections", __name__, "Corrections of labels")


class CorrectionIn(Schema):
    """What a person says the answer is: its sentiment, its topics (the whole list), or both."""

    sentiment_label = fields.String(validate=validate.OneOf(SENTIMENTS))
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=60)), validate=validate.Length(max=200),
                         metadata={"description": "the answer's topics, each a topic of the taxonomy"})


class CorrectionOut(Schema):
    id = Int()
    response_id = Int(allow_none=True)
    sentiment_label = fields.String(attribute="label", allow_none=True, validate=one_of(SENTIMENTS))
    topics = fields.List(fields.String(), allow_none=True, metadata={"description": "null: topics not corrected"})
    source = fields.String(validate=one_of(("page", "api", "import")))
    user_id = Int(allow_none=True)
    created_at = fields.DateTime()


def _response_for(user, response_id: int, *, to_correct: bool) -> Response:
    response = db.session.scalar(visible_responses(user).where(Response.id == response_id))
    if response is None:
        abort(404)
    if to_correct and user.role != "admin" and not permissions.can_work(user, response.item):
        abort(403, description="Only the item's owner, their lead or an admin can correct its answer.")
    return response


@blp.route("/responses/<int:response_id>/corrections")
class ResponseCorrections(MethodView):
    @blp.response(200, CorrectionOut(many=True))
    def get(self, response_id):
        """The answer's corrections, the latest first: who set which label or topics, and when."""
        return corrections.corrections_of(_response_for(api_user(), response_id, to_correct=False).id)

    @blp.arguments(CorrectionIn)
    @blp.response(201, CorrectionOut)
    def post(self, data, response_id):
        """Set the answer's sentiment and/or topics as they are; its item follows, re-classification keeps
        them, and `flask --app vocloop retrain` learns from them."""
        user = api_user()
        response = _response_for(user, response_id, to_correct=True)
        return corrections.correct_response(user, response, label=data.get("sentiment_label"),
                                            topics=data.get("topics"), source="api")


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
