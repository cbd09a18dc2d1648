"""Named actions on agents and their chats: views, consumers, tasks, the API and the scenario
engine call these. Each runs in one transaction and locks the Agent row(s) first, in
primary-key order, then the assignment rows: the same order as routing, so none deadlock.
What the scenario engine must hear of is recorded as a chat event in that transaction."""

from agentdesk.services.agent_state import (  # noqa: F401
    custom_reasons,
    force_state,
    log_in,
    log_out,
    presence_expired,
    ramp_up_ended,
    set_state,
)
from agentdesk.services.attachments import send_attachment  # noqa: F401
from agentdesk.services.chats import mark_read, send_reply, transfer  # noqa: F401
from agentdesk.services.common import TRANSFER_OFFER_TIMEOUT  # noqa: F401
from agentdesk.services.endings import acw_expired, end_chat, wrap_up  # noqa: F401
from agentdesk.services.exceptions import DeskError, NotYourChat  # noqa: F401
from agentdesk.services.offers import (  # noqa: F401
    accept_offer,
    auto_answer,
    leave_queue,
    offer_chat,
    offer_timed_out,
    reject_offer,
)
from agentdesk.services.outbound import (  # noqa: F401
    outbound_services,
    search_customers,
    start_outbound_chat,
    window_refusal,
)
