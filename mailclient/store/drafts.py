"""Drafts kept on this computer: what open compose windows hold, saved every few seconds.

One JSON file per draft in the profile's ``drafts`` folder, written atomically (a crash
leaves the previous save or the new one, never half of one). Attachments given by path
stay paths; attachments held in memory (those of a forwarded message) are written once
into files of their own next to the JSON. A draft leaves this folder when it was sent,
discarded, or saved in the account's Drafts folder; whatever is still here at start-up
was left by a crash (or could not reach the server) and is offered again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailclient.core.atomic import write_atomic
from mailclient.core.draft import Draft, DraftKind
from mailclient.core.errors import MailclientError
from mailclient.core.outgoing import Attachment

FORMAT_VERSION = 1
_KEY = re.compile(r"^[0-9a-f]{32}$")


class DraftStoreError(MailclientError):
    """A local draft cannot be written or read."""


@dataclass(frozen=True)
class SavedDraft:
    """A local draft and what happened to it last."""

    draft: Draft
    saved: datetime
    upload_error: str = ""  # why the last save to the Drafts folder failed, if it did


class LocalDrafts:
    """The drafts folder of a profile. Safe to use from several threads for different keys."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _json_path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise DraftStoreError(f"{key!r} is not a draft key.")
        return self.directory / f"{key}.json"

    def _part_path(self, key: str, data: bytes) -> Path:
        digest = hashlib.sha256(data).hexdigest()[:24]
        return self.directory / f"{key}.{digest}.part"

    def save(self, draft: Draft, *, upload_error: str = "") -> None:
        """Write ``draft`` (replacing its previous save); raises DraftStoreError."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            attachments = [self._attachment_entry(draft.key, a) for a in draft.attachments]
            document = {
                "version": FORMAT_VERSION,
                "key": draft.key,
                "account": draft.account,
                "sender": draft.sender,
                "to": draft.to,
                "cc": draft.cc,
                "bcc": draft.bcc,
                "subject": draft.subject,
                "body": draft.body,
                "html": draft.html,
                "attachments": attachments,
                "in_reply_to": draft.in_reply_to,
                "references": list(draft.references),
                "kind": str(draft.kind),
                "original": draft.original,
                "replaces": draft.replaces,
                "saved": datetime.now(UTC).timestamp(),
                "upload_error": upload_error,
            }
            data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
            write_atomic(self._json_path(draft.key), data)
        except OSError as error:
            raise DraftStoreError(
                f"The draft {draft.subject or '(no subject)'!r} could not be saved in "
                f"{self.directory}: {error.strerror}."
            ) from error
        self._remove_parts(draft.key, keep={a["part"] for a in attachments if "part" in a})

    def _attachment_entry(self, key: str, attachment: Attachment) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "filename": attachment.filename,
            "content_type": attachment.content_type,
        }
        if attachment.data is not None:
            part = self._part_path(key, attachment.data)
            if not part.exists():
                write_atomic(part, attachment.data)
            entry["part"] = part.name
        elif attachment.path is not None:
            if attachment.path.parent == self.directory:
                entry["part"] = attachment.path.name  # a part of ours, loaded earlier
            else:
                entry["path"] = str(attachment.path)
        return entry

    def _remove_parts(self, key: str, keep: set[str]) -> None:
        for part in self.directory.glob(f"{key}.*.part"):
            if part.name not in keep:
                with contextlib.suppress(OSError):
                    part.unlink()

    def load(self, key: str) -> SavedDraft:
        """The draft saved under ``key``; attachments of ours come back as paths."""
        path = self._json_path(key)
        try:
            document = json.loads(path.read_bytes())
            return self._saved_draft(document)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DraftStoreError(f"The saved draft {path} cannot be read: {error}.") from error

    def _saved_draft(self, document: dict[str, Any]) -> SavedDraft:
        attachments = []
        for entry in document.get("attachments", []):
            path = (
                self.directory / Path(entry["part"]).name
                if "part" in entry
                else Path(entry["path"])
            )
            attachments.append(
                Attachment(
                    filename=entry.get("filename") or path.name,
                    path=path,
                    content_type=entry.get("content_type"),
                )
            )
        draft = Draft(
            account=str(document["account"]),
            sender=str(document["sender"]),
            to=str(document.get("to", "")),
            cc=str(document.get("cc", "")),
            bcc=str(document.get("bcc", "")),
            subject=str(document.get("subject", "")),
            body=str(document.get("body", "")),
            html=document.get("html"),
            attachments=tuple(attachments),
            in_reply_to=str(document.get("in_reply_to", "")),
            references=tuple(str(r) for r in document.get("references", [])),
            kind=DraftKind(document.get("kind", DraftKind.NEW)),
            original=str(document.get("original", "")),
            key=str(document["key"]),
            replaces=str(document.get("replaces", "")),
        )
        return SavedDraft(
            draft,
            datetime.fromtimestamp(float(document.get("saved", 0)), UTC),
            str(document.get("upload_error", "")),
        )

    def saved_keys(self) -> list[str]:
        """Keys of every saved draft, the most recently saved first."""
        if not self.directory.is_dir():
            return []
        saved: list[tuple[float, str]] = []
        for path in self.directory.glob("*.json"):
            if not _KEY.match(path.stem):
                continue
            try:
                saved.append((path.stat().st_mtime, path.stem))
            except FileNotFoundError:
                continue  # deleted meanwhile (sent or discarded on another thread)
        return [key for _, key in sorted(saved, reverse=True)]

    def all(self) -> list[SavedDraft]:
        """Every readable saved draft, the most recent first (unreadable ones are skipped)."""
        found = []
        for key in self.saved_keys():
            with contextlib.suppress(DraftStoreError):
                found.append(self.load(key))
        return found

    def rename_account(self, old: str, new: str) -> int:
        """Let the drafts written from account ``old`` belong to ``new`` (the account
        renamed); returns how many there were. Unreadable drafts are left as they are."""
        moved = 0
        for saved in self.all():
            if saved.draft.account == old:
                self.save(replace(saved.draft, account=new), upload_error=saved.upload_error)
                moved += 1
        return moved

    def delete(self, key: str) -> None:
        """Forget a draft and its attachment files (nothing happens if it is not there)."""
        with contextlib.suppress(FileNotFoundError):
            self._json_path(key).unlink()
        self._remove_parts(key, keep=set())
