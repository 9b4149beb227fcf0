"""What a socket's pushes already said, per conversation, so that it says nothing twice.

A socket in two of a frame's groups (an agent's own and the waiting room: a reopened
chat's participant, a console that took a chat) hears the frame from each; two processes'
publishes can also cross. The client would drop the repeat; the socket drops it first.
"""

from __future__ import annotations

from typing import Any

# A bound per socket: forgetting only lets a repeat through.
_MAX = 4096


class SentPushes:
    __slots__ = ("revs", "seqs")

    def __init__(self) -> None:
        self.revs: dict[int, int] = {}  # conversation id -> the newest rev sent
        self.seqs: dict[Any, Any] = {}  # conversation id -> the last message.new seq sent

    def repeat(self, frame: dict[str, Any]) -> bool:
        """True if this push says nothing new to the socket (and must not be sent)."""
        kind = frame.get("type")
        if kind == "conversation.updated":
            # A rev already sent, or older, as the client's rule would drop it
            # (docs/protocol.md, rev).
            conversation = frame["conversation"]
            rev = conversation.get("rev")
            if not isinstance(rev, int):
                return False
            if rev <= self.revs.get(conversation["id"], -1):
                return True
            if len(self.revs) >= _MAX:
                self.revs.clear()
            self.revs[conversation["id"]] = rev
        elif kind == "message.new":
            # The same seq again; a lower one (pushes may cross) goes through: the client
            # resumes any gap.
            message = frame["message"]
            key, seq = message.get("conversation"), message.get("seq")
            if seq == self.seqs.get(key):
                return True
            if len(self.seqs) >= _MAX:
                self.seqs.clear()
            self.seqs[key] = seq
        return False
