"""The command palette lists every action with its current key."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from mailtool.tui.actions import ACTIONS, key_for


class ActionCommands(Provider):
    """One palette entry per action of the active screen (and the app's)."""

    def _entries(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        remap = getattr(self.app, "remap", {})
        kind = "compose" if type(screen).__name__ == "ComposeScreen" else "main"
        out = []
        for a in ACTIONS:
            if a.screen in (kind, "app"):
                key = key_for(a.id, remap).split(",")[0]
                out.append((f"{a.description}  [{key}]", a.id, a.screen))
        return out

    async def _run(self, action_id: str, where: str) -> None:
        target = self.app if where == "app" else self.screen
        await target.run_action(action_id)

    async def discover(self) -> Hits:
        for label, action_id, where in self._entries():
            yield DiscoveryHit(Content(label), partial(self._run, action_id, where),
                               text=label, help=action_id)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, action_id, where in self._entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, _highlight(matcher, label), partial(self._run, action_id, where),
                          text=label, help=action_id)


def _highlight(matcher: Matcher, label: str) -> Content:
    """``matcher.highlight`` without reading ``label`` as markup: "[d]" is the key d,
    not a style tag (it vanished from the palette)."""
    content = Content(label)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, label)
    for offset in offsets:
        if not label[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
