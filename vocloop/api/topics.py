"""/api/v1/topics: the taxonomy CX leads edit, and re-classification of past answers after a change."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import positive_ids_in
from vocloop.api.schemas import Int, one_of
from vocloop.classify import reclassify, topics
from vocloop.classify.models import ReclassifyRun
from vocloop.extensions import db
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import reclassify_responses

blp = api_blueprint("api_v1_topics", __name__, "Topic taxonomy")


class TopicIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    keywords = fields.List(fields.String(validate=validate.Length(min=1, max=80)), required=True,
                           validate=validate.Length(min=1, max=200))
    position = Int(validate=validate.Range(min=0, max=100000))


class TopicPatch(TopicIn):
    """The same fields, each optional: only what is sent changes."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class ReclassifyRunOut(Schema):
    id = Int()
    status = fields.String(validate=one_of(("queued", "running", "finished", "failed")))
    total = Int()
    done = Int()
    changed = Int()
    percent = Int()
    classifier = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


@blp.route("/topics")
class Topics(MethodView):
    @blp.response(200, schemas.TopicOut(many=True))
    def get(self):
        """The taxonomy in matching order; any signed-in user may read it (it names inbox filters)."""
        return topics.all_topics()

    @blp.arguments(TopicIn)
    @blp.response(201, schemas.TopicOut)
    def post(self, data):
        """Add a topic; past answers get it at the next re-classification."""
        require_role("lead", "admin")
        return topics.create_topic(data["name"], data["keywords"], data.get("position"))


@blp.route("/topics/<int:topic_id>")
class TopicResource(MethodView):
    @blp.arguments(TopicPatch)
    @blp.response(200, schemas.TopicOut)
    def patch(self, data, topic_id):
        require_role("lead", "admin")
        return topics.update_topic(topic_id, **data)

    @blp.response(204)
    def delete(self, topic_id):
        require_role("lead", "admin")
        topics.delete_topic(topic_id)


@blp.route("/topics/reclassify")
class Reclassify(MethodView):
    @blp.response(202, ReclassifyRunOut)
    def post(self):
        """Re-classify every answered response with the current taxonomy and classifier, as a job.

        While a run is under way, asking again returns that run instead of starting another.
        """
        require_role("lead", "admin")
        run, started = reclassify.start_run(api_user().id)
        if started:
            enqueue(reclassify_responses, run.id, queue="classify")
            db.session.refresh(run)
        return run


@blp.route("/topics/reclassify/<int:run_id>")
class ReclassifyProgress(MethodView):
    @blp.response(200, ReclassifyRunOut)
    def get(self, run_id):
        require_role("lead", "admin")
        return db.get_or_404(ReclassifyRun, run_id)


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
