"""Private notes in a chat: written and read by its agents and by supervisors, never sent.

A note is its own row, not a Message: nothing in the outbound path can pick it up.
"""

from __future__ import annotations

from django.db import transaction

from agentdesk.models import ChatAssignment, PrivateNote
from conversations.models import Interaction
from conversations.realtime import interaction_group, publish

MAX_NOTE = 5000


class NoteRefused(Exception):
    code = "note_refused"


def may_read(user, interaction_id: int) -> bool:
    """Supervisors (staff) read every chat; an agent reads the chats it took part in."""
    if user.is_staff:
        return True
    return ChatAssignment.objects.filter(
        interaction_id=interaction_id,
        agent__user_id=user.pk,
        accepted_at__isnull=False,
    ).exists()


def serialize_note(note: PrivateNote) -> dict:
    author = note.author
    return {
        "id": note.pk,
        "interaction_id": note.interaction_id,
        "author": (author.get_full_name() or author.get_username()) if author else "",
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }


@transaction.atomic
def add_note(*, author, interaction_id: int, text: str) -> PrivateNote:
    """Store a note; everyone watching the chat is told once it is committed."""
    text = (text or "").strip()
    if not text:
        raise NoteRefused("A note needs some text.")
    if len(text) > MAX_NOTE:
        raise NoteRefused(f"A note holds at most {MAX_NOTE} characters.")
    if not Interaction.objects.filter(pk=interaction_id).exists() or not may_read(author, interaction_id):
        raise NoteRefused("You cannot write notes in that chat.")
    note = PrivateNote.objects.create(interaction_id=interaction_id, author=author, text=text)
    transaction.on_commit(
        lambda: publish([interaction_group(interaction_id)], {"type": "note.added", "note_id": note.pk}), robust=True
    )
    return note


def notes_of(interaction_ids) -> list[dict]:
    rows = PrivateNote.objects.filter(interaction_id__in=list(interaction_ids)).select_related("author")
    return [serialize_note(n) for n in rows]


def note_for(*, user, note_id: int) -> dict | None:
    note = PrivateNote.objects.select_related("author").filter(pk=note_id).first()
    if note is None or not may_read(user, note.interaction_id):
        return None
    return serialize_note(note)
