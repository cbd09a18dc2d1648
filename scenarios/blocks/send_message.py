"""Send Message: a text to the customer on the channel the chat came in on."""

import logging

from scenarios.blocks.base import BlockType, SendFailed, take

logger = logging.getLogger(__name__)


class SendMessage(BlockType):
    type = "send_message"
    label = "Send Message"
    help = "Sends the text, with $(variables) filled in, to the customer."
    fixed_exits = ("Send error",)
    settings_help = {
        "message": "Text to send; $(name) inserts a variable.",
        "image_url": "Optional https:// URL of a picture to send, with the text as its caption.",
    }
    required = ("message",)
    example = {"message": "Hello $(item.firstName)!"}

    def enter(self, ctx):
        text = ctx.text(ctx.settings["message"]).strip()
        image_url = ctx.text(ctx.settings.get("image_url") or "").strip()
        if not text and not image_url:
            return take()
        try:
            if image_url:
                ctx.send_image(image_url, caption=text)
            else:
                ctx.send(text)
        except SendFailed as exc:
            # Messenger errors are mostly asynchronous (the send task records them); this
            # catches what is known now, e.g. an unreachable customer.
            logger.warning("send message block failed: %s", exc)
            ctx.variables["sendMessageError"] = str(exc)[:500]
            return take("Send error")
        return take()
