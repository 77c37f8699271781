"""Photos and voice notes on the dashboard: the stored file of an attachment, behind the login
(bot/dashboard/auth.py guards every route of the blueprint), and the words the ticket page's
media partial (templates/dashboard/_media.html) uses."""

from __future__ import annotations

from typing import Any

from bot.dashboard.blueprint import bp
from bot.dashboard.scope import limited
from bot.media import media_response
from bot.web import current_sheli
from handlers import messages as msg


@bp.get("/media/<int:attachment_id>")
def media(attachment_id: int) -> Any:
    """The stored picture or recording with its own content type; 404 for an unknown, not yet
    fetched, failed or erased attachment, and for an operator limited to another community."""
    return media_response(current_sheli(), attachment_id, limited())


@bp.context_processor
def _media_words() -> dict[str, Any]:
    return {
        "media_words": msg.MEDIA_KIND_WORDS,
        "media_pending": msg.MEDIA_STATUS_PENDING,
        "media_failed": msg.MEDIA_STATUS_FAILED,
        "media_erased": msg.MEDIA_STATUS_ERASED,
        "media_voice_download": msg.MEDIA_VOICE_DOWNLOAD,
    }
