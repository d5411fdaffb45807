"""/api/v1/classifier: the sentiment model in use, the models this install trained with their figures,
and retraining from the team's labels as a job (the Topics page's service)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.schemas import Int, one_of
from vocloop.classify import learning, retraining
from vocloop.classify.models import RetrainRun
from vocloop.classify.sentiment_model import shipped_model
from vocloop.extensions import db
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import retrain_model

blp = api_blueprint("api_v1_classifier", __name__, "Sentiment model")


class ModelOut(Schema):
    id = Int()
    version = fields.String(metadata={"description": "what each answer's `classifier` names"})
    corrections = Int(metadata={"description": "labelled comments it was trained from"})
    folds = Int()
    macro_f1_before = fields.Float(attribute="f1_before", metadata={
        "description": "macro-F1 on those comments of the model in use when it was trained"})
    macro_f1_after = fields.Float(attribute="f1_after", metadata={"description": "its own, cross-validated"})
    in_use = fields.Boolean()
    created_at = fields.DateTime()
    in_use_from = fields.DateTime(allow_none=True)
    in_use_until = fields.DateTime(allow_none=True)


class RetrainRunOut(Schema):
    id = Int()
    status = fields.String(validate=one_of(("queued", "running", "done", "failed")))
    outcome = fields.String(allow_none=True, validate=one_of(("in_use", "kept", "refused")), metadata={
        "description": "in_use: better, now the model in use; kept: not better, stored unused; "
                       "refused: nothing trained (error says why)"})
    error = fields.String(allow_none=True)
    model = fields.Nested(ModelOut, allow_none=True)
    requested_by_id = Int(allow_none=True, metadata={"description": "null: the weekly clock"})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class ClassifierOut(Schema):
    shipped_version = fields.String()
    in_use_version = fields.String(metadata={"description": "the shipped model's, or one of `models`"})
    labelled_comments = Int(metadata={"description": "what a retraining would learn from"})
    models = fields.List(fields.Nested(ModelOut), metadata={"description": "newest first"})
    latest_retraining = fields.Nested(RetrainRunOut, allow_none=True)


def _state() -> dict:
    current = learning.in_use()
    return {"shipped_version": shipped_model().version,
            "in_use_version": current.version if current is not None else shipped_model().version,
            "labelled_comments": retraining.labelled_count(), "models": retraining.models(),
            "latest_retraining": retraining.latest_run()}


@blp.route("/classifier")
class Classifier(MethodView):
    @blp.response(200, ClassifierOut)
    def get(self):
        """The model in use and every model this install trained, with their macro-F1 figures."""
        require_role("lead", "admin")
        return _state()


@blp.route("/classifier/retrain")
class Retrain(MethodView):
    @blp.response(202, RetrainRunOut)
    def post(self):
        """Retrain from the shipped model plus every labelled comment, as a job; the new model is used only
        when it scores better. A retraining under way is returned instead; too few labels: 422."""
        run, started = retraining.start_run(require_role("lead", "admin").id)
        if started:
            enqueue(retrain_model, run.id, queue="classify")
            db.session.refresh(run)
        return run


@blp.route("/classifier/retrain/<int:run_id>")
class RetrainProgress(MethodView):
    @blp.response(200, RetrainRunOut)
    def get(self, run_id):
        require_role("lead", "admin")
        return db.get_or_404(RetrainRun, run_id)


@blp.route("/classifier/restore")
class Restore(MethodView):
    @blp.response(200, ClassifierOut)
    def post(self):
        """Put back the model in use before the current one (409 when the shipped model is in use)."""
        require_role("lead", "admin")
        learning.restore()
        return _state()
