"""The agent sends a file (with a caption) into a live chat."""

from __future__ import annotations

from django.db import transaction

from agentdesk.models import ChatAssignment
from agentdesk.services.exceptions import DeskError, NotYourChat
from integrations.errors import OutboundRefused
from integrations.outbound import queue_media


def send_attachment(*, agent_user, interaction_id: int, upload, file_name: str = "", caption: str = ""):
    """Check the file against the platform's types and size and queue it; DeskError with
    the limit in words when it cannot go (nothing is stored or queued then)."""
    if upload is None:
        raise DeskError("Choose a file first.", code="empty")
    with transaction.atomic():
        assignment = (
            ChatAssignment.objects.select_related("interaction__account")
            .filter(agent__user_id=agent_user.pk, interaction_id=interaction_id, status=ChatAssignment.Status.ACTIVE)
            .first()
        )
        if assignment is None:
            raise NotYourChat("This chat is not yours, or it has ended.")
        try:
            messages = queue_media(
                interaction=assignment.interaction,
                upload=upload,
                file_name=file_name,
                caption=caption,
                sender="agent",
                sender_user=agent_user,
            )
        except OutboundRefused as exc:
            raise DeskError(str(exc), code="refused") from exc
        ChatAssignment.objects.filter(pk=assignment.pk).update(last_read_message_id=messages[-1].pk)
    return messages
