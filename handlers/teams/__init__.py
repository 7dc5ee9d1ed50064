"""The Microsoft Teams adapter: Bot Framework activities at /api/messages, Adaptive Cards out."""

import warnings

# The SDK warns at import about preview features bridgebot does not use.
warnings.filterwarnings(
    "ignore", message=r".* is in preview and may change", module=r"microsoft_teams\."
)
