from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "scenarios"

    def ready(self):
        # The engine listens to the chat events the layers below record (conversations.events).
        from conversations import events
        from scenarios import engine

        events.listen(engine.on_chat_event, kinds=engine.CHAT_EVENTS)
