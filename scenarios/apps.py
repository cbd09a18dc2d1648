from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "scenarios"

    def ready(self):
        # The engine listens to the chat events the layers below record (conversations.events).
        from conversations import events
        from scenarios import engine, system_messages

        # System messages first: "<agent> has ended the chat" comes before the scenario's goodbye.
        events.listen(system_messages.on_chat_event, kinds=system_messages.KINDS)
        events.listen(engine.on_chat_event, kinds=engine.CHAT_EVENTS)
