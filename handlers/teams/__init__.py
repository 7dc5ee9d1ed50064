"""The Microsoft Teams adapter: Bot Framework activities at /api/messages, Adaptive Cards out."""

import warnings

# The SDK warns at import about preview features bridgebot does not use.
warnings.filterwarnings(
    "ignore", message=r".* is in preview and may change", module=r"microsoft_teams\."
)
# Every ApiClient (one per Bot Connector call to a service URL) builds the SDK's own
# deprecated BotClient and warns; bridgebot never uses it (its tokens come from the App).
warnings.filterwarnings(
    "ignore",
    message=r"The bot client is deprecated",
    category=DeprecationWarning,
    module=r"microsoft_teams\.api\.clients\.api_client",
)
