"""Every model, imported in one place so that Alembic and create_all see the whole schema."""

from vocloop.accounts.idempotency import IdempotencyRecord
from vocloop.accounts.models import ApiToken, Team, User, UserToken, team_members
from vocloop.announcements.models import Announcement, AnnouncementRecipient
from vocloop.classify.models import ReclassifyRun, Topic
from vocloop.company.models import CompanyProfile
from vocloop.contacts.models import Account, Contact, ContactImport, ContactList, list_members
from vocloop.items.models import ClosingTemplate, FeedbackItem, ItemEvent
from vocloop.mail.models import InboundEmail, MailEvent, Message, MessageTemplate
from vocloop.outbound.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from vocloop.responses.models import Response, ScannerRule
from vocloop.routing.models import BusinessCalendarRow, RoutingRule, SlaPolicy
from vocloop.surveys.models import Invitation, Survey, SurveySend
from vocloop.themes.models import DismissedPhrase, ProposedTheme, ThemeRun

__all__ = ["Account", "Announcement", "AnnouncementRecipient", "ApiToken", "BusinessCalendarRow", "ClosingTemplate",
           "CompanyProfile", "Contact", "ContactImport", "ContactList", "DismissedPhrase", "FeedbackItem",
           "IdempotencyRecord", "InboundEmail", "Invitation", "ItemEvent", "MailEvent", "Message", "MessageTemplate",
           "ProposedTheme", "ReclassifyRun", "Response", "RoutingRule", "ScannerRule", "SlaPolicy", "Survey",
           "SurveySend", "Team", "ThemeRun", "Topic", "User", "UserToken", "WebhookAttempt", "WebhookDelivery",
           "WebhookEndpoint", "list_members", "team_members"]
