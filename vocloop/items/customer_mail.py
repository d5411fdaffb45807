"""What an owner sends the customer beside the closing message: who writes (a person of the company,
in the customer's language) and the hand-over notice."""

from __future__ import annotations

from vocloop.accounts.models import User
from vocloop.company import service as profiles
from vocloop.i18n import in_language, language_for, translate
from vocloop.items.closing import why_you_hear_from_us
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.mail import customer as customer_email
from vocloop.mail import outbox
from vocloop.mail.reply_address import reply_address


def personal_sender(item: FeedbackItem, person: User) -> profiles.Sender:
    """A person writing to the customer: "Dana from Acme", in the customer's language, from the survey's
    (else the company's) address."""
    with in_language(language_for(item.contact, item.survey)):
        return profiles.sender(item.survey, person=person.name)


def tell_customer_of_handover(item: FeedbackItem, event: ItemEvent, previous: User, new_owner: User) -> None:
    """The customer hears who their new contact is, so they need not explain themselves again."""
    contact, survey = item.contact, item.survey
    language = language_for(contact, survey)
    with in_language(language):
        subject = translate("{owner} is now your contact", owner=new_owner.name)
        if survey.title:
            introduction = translate("{owner} is now looking after the feedback you gave us in “{title}”, taking over "
                                     "from {previous}.", owner=new_owner.name, title=survey.title,
                                     previous=previous.name)
        else:
            introduction = translate("{owner} is now looking after the feedback you gave us, taking over from "
                                     "{previous}.", owner=new_owner.name, previous=previous.name)
    email = customer_email.render("handover", subject=subject, language=language, survey=survey,
                                  why=lambda: why_you_hear_from_us(survey), introduction=introduction,
                                  greeting=customer_email.greeting(contact, language), new_owner=new_owner)
    sender = personal_sender(item, new_owner)
    outbox.queue_message(
        key=f"handover:{item.id}:{event.id}", kind="handover", to_email=contact.email, to_name=contact.name,
        subject=email["subject"], from_name=sender.name, from_email=sender.email, html=email["html"],
        text=email["text"], contact_id=item.contact_id, item_id=item.id,
        reply_to=reply_address(item.id) or sender.reply_to)
