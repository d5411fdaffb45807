"""Who is who, for CRM sync: contacts and accounts (leads and admins), teams, and users (admins)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from vocloop.accounts import links, teams
from vocloop.accounts import service as accounts
from vocloop.accounts.models import Team, User
from vocloop.api import schemas
from vocloop.api.auth import api_user, require_role
from vocloop.api.blueprint import api_blueprint
from vocloop.api.contract import positive_ids_in
from vocloop.api.paging import matching, page
from vocloop.api.schemas import MAX_INT, Int, PageQuery
from vocloop.contacts import service as contacts
from vocloop.contacts.models import Account, Contact
from vocloop.extensions import db

blp = api_blueprint("api_v1_directory", __name__, "Contacts, accounts, teams and users")


class ContactOut(Schema):
    id = Int()
    email = fields.String()
    name = fields.String()
    first_name = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    account_id = Int(allow_none=True)
    attributes = fields.Dict()
    unsubscribed = fields.Function(lambda contact: contact.unsubscribed_at is not None, metadata={"type": "boolean"})
    created_at = fields.DateTime()


class ContactsQuery(PageQuery):
    email = fields.String(load_default=None, validate=validate.Length(min=1, max=320))
    external_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    account_id = Int(load_default=None, validate=validate.Range(min=1))


class AccountIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    owner_id = Int(load_default=None, allow_none=True,
                              metadata={"description": "the account owner (routing rules can send items to them)"})
    annual_value = Int(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_INT))


class AccountPatch(AccountIn):
    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class AccountOut(Schema):
    id = Int()
    name = fields.String()
    external_id = fields.String(allow_none=True)
    owner_id = Int(allow_none=True)
    annual_value = Int(allow_none=True)
    created_at = fields.DateTime()


class AccountsQuery(PageQuery):
    external_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class TeamIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    lead_id = Int(load_default=None, allow_none=True)


class TeamOut(Schema):
    id = Int()
    name = fields.String()
    lead_id = Int(allow_none=True)
    member_ids = fields.Function(lambda team: [member.id for member in team.members],
                                 metadata={"type": "array", "items": {"type": "integer"}})
    created_at = fields.DateTime()


class TeamPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    lead_id = Int(allow_none=True)


class TeamMemberIn(Schema):
    user_id = Int(required=True)


class UserIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    role = fields.String(load_default="owner", validate=validate.OneOf(["owner", "lead", "admin"]))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "team name; created if new"})


class UsersQuery(PageQuery):
    active = fields.Boolean(load_default=None)
    role = fields.String(load_default=None, validate=validate.OneOf(["owner", "lead", "admin"]))


@blp.route("/contacts")
class Contacts(MethodView):
    @blp.arguments(ContactsQuery, location="query")
    @blp.response(200, ContactOut(many=True))
    def get(self, args):
        """Contacts by id; filter by email, external_id or account_id; pass the last id as after_id."""
        require_role("lead", "admin")
        if args["email"]:
            args["email"] = args["email"].strip().lower()
        query = matching(select(Contact), args, {"email": Contact.email, "external_id": Contact.external_id,
                                                 "account_id": Contact.account_id})
        return page(query, Contact, args)

    @blp.arguments(schemas.ContactIn)
    @blp.response(201, ContactOut)
    def post(self, data):
        """Create a contact (and its account, by name or external id, if new)."""
        require_role("lead", "admin")
        return contacts.create_contact(**data)


@blp.route("/contacts/<int:contact_id>")
class ContactResource(MethodView):
    @blp.response(200, ContactOut)
    def get(self, contact_id):
        require_role("lead", "admin")
        return db.get_or_404(Contact, contact_id)


@blp.route("/accounts")
class Accounts(MethodView):
    @blp.arguments(AccountsQuery, location="query")
    @blp.response(200, AccountOut(many=True))
    def get(self, args):
        """Accounts by id; filter by external_id; pass the last id as after_id."""
        require_role("lead", "admin")
        return page(matching(select(Account), args, {"external_id": Account.external_id}), Account, args)

    @blp.arguments(AccountIn)
    @blp.response(201, AccountOut)
    def post(self, data):
        """Create an account; its owner can be a routing target ("account owner")."""
        require_role("lead", "admin")
        return contacts.save_account(None, **data)


@blp.route("/accounts/<int:account_id>")
class AccountResource(MethodView):
    @blp.response(200, AccountOut)
    def get(self, account_id):
        require_role("lead", "admin")
        return db.get_or_404(Account, account_id)

    @blp.arguments(AccountPatch)
    @blp.response(200, AccountOut)
    def patch(self, data, account_id):
        """Change what is sent; the rest stays."""
        require_role("lead", "admin")
        return contacts.save_account(db.get_or_404(Account, account_id), **data)


@blp.route("/teams")
class Teams(MethodView):
    @blp.response(200, TeamOut(many=True))
    def get(self):
        """Every team with its lead and members (anyone may read: items name their team)."""
        return db.session.scalars(select(Team).options(selectinload(Team.members)).order_by(Team.name)).all()

    @blp.arguments(TeamIn)
    @blp.response(201, TeamOut)
    def post(self, data):
        require_role("admin")
        return accounts.create_team(data["name"], data["lead_id"])


@blp.route("/teams/<int:team_id>")
class TeamResource(MethodView):
    @blp.response(200, TeamOut)
    def get(self, team_id):
        return db.get_or_404(Team, team_id)

    @blp.arguments(TeamPatch)
    @blp.response(200, TeamOut)
    def patch(self, data, team_id):
        """Rename the team or choose its lead (null: none). Admins."""
        require_role("admin")
        return teams.change_team(db.get_or_404(Team, team_id), **data)

    @blp.response(204)
    def delete(self, team_id):
        """Delete the team (admins); refused (409) while a routing rule names it or it has open items.
        Its closed items keep their owner but no longer count for a team."""
        require_role("admin")
        teams.delete_team(db.get_or_404(Team, team_id))


@blp.route("/teams/<int:team_id>/members")
class TeamMembers(MethodView):
    @blp.arguments(TeamMemberIn)
    @blp.response(200, TeamOut)
    def post(self, data, team_id):
        """Add someone to a team: admins anyone, a team's lead owners only (taking someone out hands
        their items over: DELETE .../members/{id})."""
        actor = require_role("lead", "admin")
        team = db.get_or_404(Team, team_id)
        accounts.add_team_member(actor, team, data["user_id"])
        return team


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UsersQuery, location="query")
    @blp.response(200, schemas.UserOut(many=True))
    def get(self, args):
        """Everyone who can sign in, by id. Admins."""
        require_role("admin")
        return page(matching(select(User), args, {"active": User.active, "role": User.role}), User, args)

    @blp.arguments(UserIn)
    @blp.response(201, schemas.UserOut)
    def post(self, data):
        """Invite a user: they get an email with a one-time link to choose a password. Admins."""
        admin = require_role("admin")
        user = links.invite(admin, data["email"], name=data["name"].strip(), role=data["role"], team=data["team"])
        return user


@blp.route("/users/me")
class Me(MethodView):
    @blp.response(200, schemas.UserOut)
    def get(self):
        """The token's own user."""
        return api_user()


positive_ids_in(globals())  # ids a request names are positive (vocloop.api.contract)
