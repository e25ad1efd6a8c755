"""The small local scripts of the live and playback pages (no library beyond Leaflet).

The code lives in ``maps/static/gridgis-live.js`` and ``gridgis-playback.js`` and is inlined
into the page with its options. Test hooks: ``window.gridgisLive`` = ``{count, online,
updated}`` after each poll of the live page; ``window.gridgisPlayback`` = ``{ready, vertices,
stops, t, playing, speed}`` on playback.
"""

from __future__ import annotations

import json
from typing import Any

from branca.element import MacroElement
from folium.template import Template

from maps.assets import STATIC_DIR


def _macro(function: str, filename: str) -> str:
    code = (STATIC_DIR / filename).read_text(encoding="utf-8")
    return (
        "{% macro script(this, kwargs) %}\n{% raw %}"
        + code
        + "{% endraw %}\n"
        + function
        + "({{ this._parent.get_name() }}, {{ this.options }});\n{% endmacro %}"
    )


LIVE_JS = _macro("gridgisLive", "gridgis-live.js")
PLAYBACK_JS = _macro("gridgisPlayback", "gridgis-playback.js")


class TrackScript(MacroElement):
    """One of the scripts above, with its options as JSON."""

    def __init__(self, source: str, options: dict[str, Any]) -> None:
        super().__init__()
        self._name = "TrackScript"
        self._template = Template(source)
        self.options = json.dumps(options, ensure_ascii=False)
