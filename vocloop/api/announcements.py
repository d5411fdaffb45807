"""/api/v1/announcements: tell everyone who raised a topic what was done (the outer loop), with
its schemas beside it. The same service as the Announcements page (announcements/service.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort
from flask.views import MethodView
from marshmallow import Schema, fields, pre_dump, validate

from vocloop.announcements import service as announcements
from vocloop.announcements.models import ANNOUNCEMENT_STATUSES, RECIPIENT_STATUSES
from vocloop.api.auth import require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.schemas import Day, Int, one_of
from vocloop.i18n import available_languages
from vocloop.jobs.queue import enqueue
from vocloop.jobs.tasks import send_announcement
from vocloop.metrics.period import period_of_days

blp = api_blueprint("api_v1_announcements", __name__, "Announcements (the outer loop)")


class TranslationIn(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=announcements.MAX_SUBJECT))
    body = fields.String(required=True, validate=validate.Length(min=1, max=announcements.MAX_BODY))


class AnnouncementIn(Schema):
    topic = fields.String(required=True, validate=validate.Length(min=1, max=60),
                          metadata={"description": "a topic's name (GET /api/v1/topics)"})
    created_from = Day(load_default=None, metadata={"description": "items raised from this day (UTC)"})
    created_to = Day(load_default=None, metadata={"description": "to this day, included"})
    team_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    survey_id = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))
    only_open = fields.Boolean(load_default=False, metadata={"description": "only people whose item is open"})
    subject = fields.String(required=True, validate=validate.Length(min=1, max=announcements.MAX_SUBJECT))
    body = fields.String(required=True, validate=validate.Length(min=1, max=announcements.MAX_BODY))
    translations = fields.Dict(keys=fields.String(validate=validate.OneOf(list(available_languages()))),
                               values=fields.Nested(TranslationIn), load_default=dict,
                               metadata={"description": "the same message in other languages, by language code"})
    close_open_items = fields.Boolean(load_default=False, metadata={
        "description": "close the recipients' open items of the topic with it; they count as loop-closed "
                       "once the mail provider accepts the email"})


class AnnouncementPatch(AnnouncementIn):
    class Meta:
        partial = True


class ProgressOut(Schema):
    recipients = Int()
    reached = Int(metadata={"description": "the provider accepted the email, and it did not bounce"})
    waiting = Int(metadata={"description": "still being queued or sent"})
    not_reached = Int(metadata={"description": "refused or bounced"})
    skipped = Int(metadata={"description": "never emailed: unsubscribed, bounced before, or erased"})


class AnnouncementOut(Schema):
    id = Int()
    topic = fields.String()
    created_from = fields.Date(allow_none=True)
    created_to = fields.Date(allow_none=True)
    team_id = Int(allow_none=True)
    survey_id = Int(allow_none=True)
    only_open = fields.Boolean()
    subject = fields.String()
    body = fields.String()
    translations = fields.Dict(keys=fields.String(), values=fields.Nested(TranslationIn))
    close_open_items = fields.Boolean()
    status = fields.String(validate=one_of(ANNOUNCEMENT_STATUSES))
    created_by_id = Int(allow_none=True)
    sent_by_id = Int(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    progress = fields.Nested(ProgressOut, allow_none=True, metadata={"description": "none while a draft"})

    @pre_dump
    def _with_progress(self, announcement, **kwargs):
        values = {name: getattr(announcement, name) for name in self.fields if name != "progress"}
        values["progress"] = None if announcement.status == "draft" else announcements.progress(announcement)
        return values


class AudienceItemOut(Schema):
    id = Int()
    status = fields.String()
    created_at = fields.DateTime()


class AudienceMemberOut(Schema):
    contact_id = fields.Function(lambda m: m.contact.id, metadata={"type": "integer"})
    name = fields.Function(lambda m: m.contact.name, metadata={"type": "string"})
    email = fields.Function(lambda m: m.contact.email, metadata={"type": "string"})
    language = fields.String()
    skip_reason = fields.String(allow_none=True, metadata={
        "description": "why they will not be emailed (none: they will)"})
    items = fields.List(fields.Nested(AudienceItemOut))
    closes_item_ids = fields.Function(lambda m: [item.id for item in m.closes], metadata={
        "type": "array", "items": {"type": "integer"}})


class PreviewQuery(Schema):
    contact_id = Int(load_default=None, validate=validate.Range(min=1),
                     metadata={"description": "whose email (default: the first who raised it)"})


class PreviewOut(Schema):
    contact_id = Int()
    language = fields.String()
    subject = fields.String()
    html = fields.String()
    text = fields.String()


class RecipientOut(Schema):
    contact_id = Int()
    status = fields.String(validate=one_of(RECIPIENT_STATUSES))
    skip_reason = fields.String(allow_none=True)
    language = fields.String()
    item_ids = fields.List(Int())
    closes_item_ids = fields.List(Int())
    message_status = fields.Function(lambda r: r.message.status if r.message else None, metadata={
        "type": "string", "nullable": True, "description": "the email's delivery status"})


class AnnouncementFiguresQuery(Schema):
    from_ = Day(data_key="from", load_default=None)
    to = Day(load_default=None)


class AnnouncementFiguresOut(Schema.from_dict({"from": fields.String(), "to": fields.String()})):
    announcements = Int()
    recipients = Int()
    reached = Int()
    waiting = Int()
    not_reached = Int()
    skipped = Int()
    items_closed = Int(metadata={"description": "items closed by announcements that reached their customer"})


def _lead():
    return require_role("lead", "admin")


@blp.route("/announcements")
class Announcements(MethodView):
    @blp.response(200, AnnouncementOut(many=True))
    def get(self):
        """Announcements this lead wrote or that are for their teams (admins: all), the newest first."""
        return announcements.listed_for(_lead())

    @blp.arguments(AnnouncementIn)
    @blp.response(201, AnnouncementOut)
    def post(self, data):
        """A draft: who raised it (a topic, a period, a team, a survey) and what to tell them. Nothing is
        sent until POST .../send."""
        return announcements.create(_lead(), data)


@blp.route("/announcements/<int:announcement_id>")
class AnnouncementResource(MethodView):
    @blp.response(200, AnnouncementOut)
    def get(self, announcement_id):
        return announcements.get_for(_lead(), announcement_id)

    @blp.arguments(AnnouncementPatch)
    @blp.response(200, AnnouncementOut)
    def patch(self, data, announcement_id):
        """Change a draft (a sent one answers 409)."""
        user = _lead()
        return announcements.update(user, announcements.get_for(user, announcement_id), data)

    @blp.response(204)
    def delete(self, announcement_id):
        """Delete a draft (a sent one stays on record: 409)."""
        user = _lead()
        announcements.delete(user, announcements.get_for(user, announcement_id))


@blp.route("/announcements/<int:announcement_id>/audience")
class Audience(MethodView):
    @blp.response(200, AudienceMemberOut(many=True))
    def get(self, announcement_id):
        """Who raised it, as the draft's filters find them now: each person once with their items, the
        items it would close, and why a person would be skipped."""
        user = _lead()
        announcement = announcements.get_for(user, announcement_id)
        return announcements.audience(user, announcements.Criteria.of(announcement), announcement.close_open_items)


@blp.route("/announcements/<int:announcement_id>/preview")
class Preview(MethodView):
    @blp.arguments(PreviewQuery, location="query")
    @blp.response(200, PreviewOut)
    def get(self, args, announcement_id):
        """The email exactly as one of them will get it (their language, greeting and footer), but for its
        unsubscribe link: a stand-in here (/s/preview/unsubscribe); each email gets its reader's own."""
        user = _lead()
        member, email = announcements.preview(user, announcements.get_for(user, announcement_id), args["contact_id"])
        return {"contact_id": member.contact.id, "language": member.language, **email}


@blp.route("/announcements/<int:announcement_id>/send")
class Send(MethodView):
    @blp.response(202, AnnouncementOut)
    def post(self, announcement_id):
        """Send it: the recipients are fixed now, each gets it once (a second call answers 409); the
        emails go out through the outbox."""
        user = _lead()
        announcement = announcements.get_for(user, announcement_id)
        announcements.send(user, announcement)
        enqueue(send_announcement, announcement.id, queue="default")
        return announcements.get_for(user, announcement_id)


@blp.route("/announcements/<int:announcement_id>/recipients")
class Recipients(MethodView):
    @blp.response(200, RecipientOut(many=True))
    def get(self, announcement_id):
        """Everyone it was for, with what happened: queued (and the email's delivery status) or skipped and why."""
        user = _lead()
        return announcements.recipients_of(announcements.get_for(user, announcement_id))


@blp.route("/metrics/announcements")
class AnnouncementFigures(MethodView):
    @blp.arguments(AnnouncementFiguresQuery, location="query")
    @blp.response(200, AnnouncementFiguresOut)
    def get(self, args):
        """Announcements sent in the period (both days included) and the customers they reached."""
        user = _lead()
        try:
            period = period_of_days(args["from_"], args["to"], datetime.now(UTC).date())
        except ValueError as exc:
            abort(422, description=str(exc))
        return {**period.query_args(), **announcements.figures(period.start, period.end, user)}
