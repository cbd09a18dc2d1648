"""What the desk's named actions raise when an agent may not do something now."""


class DeskError(Exception):
    """An action the agent may not take now; `code` is sent to the desktop."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class NotYourChat(DeskError):
    code = "not_your_chat"
