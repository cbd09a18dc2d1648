"""Scenarios models in two parts: the organisation (`org`: skills, teams, services, hours),
which the agent desk may read, and the flow (`flow`: scenarios, entries, runs), which it may not."""

from scenarios.models.flow import (  # noqa: F401
    AccountAssignment,
    AccountChatSettings,
    Block,
    ChatInactivity,
    EntryChatSettings,
    HandledChatEvent,
    Scenario,
    ScenarioEntry,
    ScenarioRun,
    ScenarioTimer,
    SystemMessageEvent,
)
from scenarios.models.org import (  # noqa: F401
    AGENT_PLACEHOLDER,
    SYSTEM_MESSAGES,
    ChatSettings,
    Disposition,
    Holiday,
    HoursOfOperation,
    Service,
    ServiceTeam,
    Skill,
    Team,
    WeeklyHours,
)
