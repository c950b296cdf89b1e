"""``mailclient send`` and ``mailclient outbox list|flush|retry|delete``.

Exit codes (also in the README): 0 the server accepted the message(s); 1 refused for good
(the server's words are printed) or nothing was queued because of an error; 75
(EX_TEMPFAIL, as sendmail uses it) the message is safe in the outbox but not sent yet: it
will be retried.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from mailclient.app.services import Services
from mailclient.app.terminal import printable
from mailclient.core.errors import InvalidInput
from mailclient.core.outgoing import Attachment, OutboxItem, OutboxState, OutgoingMessage
from mailclient.core.schedule import parse_send_time
from mailclient.smtp.sender import FlushReport, OutboxSender, Outcome, SendResult
from mailclient.store.outbox import SenderBusy

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_QUEUED = 75  # sysexits.h EX_TEMPFAIL: "try again later"; the message is kept

# How long a command waits for another sender (the window, another command) to finish.
LOCK_WAIT_SECONDS = 30.0

EXIT_HELP = (
    "exit status: 0 accepted by the server; 1 refused (the server's words are shown) or "
    "not queued because of an error; 75 kept in the outbox to be retried later"
)


def register(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="queue a message in the outbox and send it now",
        description="Queue a message in the outbox, then send it. The body is read from "
        "--body-file, or from standard input.",
        epilog=EXIT_HELP,
    )
    send.add_argument("--account", required=True, metavar="NAME", help="the account to send from")
    send.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="ADDR",
        required=True,
        help="a recipient, like bob@example.org or 'Bob <bob@example.org>'; repeat for more",
    )
    send.add_argument("--cc", action="append", default=[], metavar="ADDR", help="a copy to")
    send.add_argument(
        "--bcc", action="append", default=[], metavar="ADDR", help="a copy hidden from the others"
    )
    send.add_argument("--subject", required=True, metavar="TEXT")
    send.add_argument("--body-file", metavar="FILE", help="UTF-8 text (default: standard input)")
    send.add_argument(
        "--attach", action="extend", nargs="+", default=[], metavar="FILE", help="files to attach"
    )
    send.add_argument(
        "--at",
        metavar="TIME",
        help='send at this local time ("2026-12-24 09:00"); it waits in the outbox until then',
    )
    send.set_defaults(func=cmd_send)

    outbox = commands.add_parser(
        "outbox", help="list, send, retry or delete the messages waiting in the outbox"
    )
    actions = outbox.add_subparsers(dest="action", metavar="ACTION")
    outbox.set_defaults(func=cmd_list)
    actions.add_parser("list", help="the waiting messages (the default)").set_defaults(
        func=cmd_list
    )
    actions.add_parser(
        "flush",
        help="send every queued message now, whatever its retry time "
        "(one scheduled with --at waits for its time; `retry ID` sends it now)",
        epilog=EXIT_HELP,
    ).set_defaults(func=cmd_flush)
    retry = actions.add_parser(
        "retry", help="queue a failed message again and send it now", epilog=EXIT_HELP
    )
    retry.add_argument("id", type=int)
    retry.set_defaults(func=cmd_retry)
    delete = actions.add_parser("delete", help="remove a message from the outbox")
    delete.add_argument("id", type=int)
    delete.set_defaults(func=cmd_delete)


def _read_body(path: str | None) -> str:
    try:
        data = Path(path).read_bytes() if path else sys.stdin.buffer.read()
    except OSError as error:
        raise InvalidInput("body", f"cannot read {path}: {error.strerror}") from error
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body", "the text is not UTF-8") from None


def cmd_send(services: Services, args: argparse.Namespace) -> int:
    account = services.accounts.get(args.account)
    draft = OutgoingMessage(
        sender=account.sender,
        to=tuple(args.to),
        cc=tuple(args.cc),
        bcc=tuple(args.bcc),
        subject=args.subject,
        body=_read_body(args.body_file),
        attachments=tuple(Attachment(path=Path(p)) for p in args.attach),
    )
    send_at = parse_send_time(args.at, datetime.now().astimezone()) if args.at else None
    sender = services.outbox_sender()
    if send_at is not None:
        item = sender.enqueue(account.name, draft, send_at=send_at.timestamp(), scheduled=True)
        tell_rescues(sender)
        print(
            f"Message {item.id} waits in the outbox until {_when(send_at)}; mailclient sends "
            "it then (or the next `mailclient outbox flush` after that time)."
        )
        return EXIT_OK
    item = sender.enqueue(account.name, draft)
    tell_rescues(sender)
    try:
        report = sender.flush(ids=[item.id], ignore_schedule=True, wait=LOCK_WAIT_SECONDS)
    except SenderBusy as error:
        return _busy(error)
    return _report(sender, report, [item.id])


def tell_rescues(sender: OutboxSender) -> None:
    """Say so when a damaged outbox file was set aside (and what was kept)."""
    for found in sender.rescues:
        print(printable(f"mailclient: {found.message()}"), file=sys.stderr)
    sender.rescues.clear()


def _busy(error: SenderBusy) -> int:
    print(printable(f"The messages stay queued in the outbox. {error}"), file=sys.stderr)
    return EXIT_QUEUED


def cmd_list(services: Services, args: argparse.Namespace) -> int:
    sender = services.outbox_sender()
    items = sender.items()
    tell_rescues(sender)
    if not items:
        print("The outbox is empty.")
        return EXIT_OK
    for item in items:
        print(printable(_describe(item)))
    return EXIT_OK


def cmd_flush(services: Services, args: argparse.Namespace) -> int:
    sender = services.outbox_sender()
    try:
        report = sender.flush(ignore_schedule=True, wait=LOCK_WAIT_SECONDS)
    except SenderBusy as error:
        return _busy(error)
    if not report.results and not report.copies:
        print("Nothing to send: no message is queued.")
    tried = [r.item_id for r in report.results]
    return _report(
        sender, report, tried + [c.item_id for c in report.copies if c.item_id not in tried]
    )


def cmd_retry(services: Services, args: argparse.Namespace) -> int:
    sender = services.outbox_sender()
    try:
        report = sender.retry(args.id, wait=LOCK_WAIT_SECONDS)
    except SenderBusy as error:
        return _busy(error)
    return _report(sender, report, [args.id])


def cmd_delete(services: Services, args: argparse.Namespace) -> int:
    item = services.outbox_sender().delete(args.id)
    print(f"Deleted message {item.id} ({item.subject or 'no subject'}) from the outbox.")
    return EXIT_OK


def _print_elsewhere(sender: OutboxSender, item_id: int) -> int:
    """A message this command did not send: another mailclient took it meanwhile."""
    item = sender.find(item_id)
    if item is None:
        print(f"Message {item_id} has left the outbox: another mailclient sent or deleted it.")
        return EXIT_OK
    if item.state is OutboxState.SENT:
        print(f"Message {item_id} was sent.")
        if item.copy_error:
            print(printable(f"  Sent folder: {item.copy_error}"), file=sys.stderr)
        return EXIT_OK
    print(printable(_describe(item)), file=sys.stderr)
    return EXIT_FAILED if item.state is OutboxState.FAILED else EXIT_QUEUED


def _report(sender: OutboxSender, report: FlushReport, ids: list[int]) -> int:
    """Print what happened to messages ``ids``; the exit status sums them up."""
    tell_rescues(sender)
    tried = {result.item_id for result in report.results}
    for item in report.recovered:
        if item.maybe_sent and item.id not in tried:  # else its result says so
            print(
                f"Message {item.id} ({item.subject or 'no subject'}) was being sent when "
                "mailclient stopped: it may already have been sent. It was queued again.",
                file=sys.stderr,
            )
    status = EXIT_OK
    copied = {copy.item_id: copy for copy in report.copies}
    for item_id in ids:
        result = report.result(item_id)
        if result is not None:
            status = _worst(status, _print_result(result))
        elif item_id in copied:  # sent before; only its Sent copy was due
            if copied[item_id].saved:
                print(f"Message {item_id}: the copy is now saved in the Sent folder.")
        else:
            status = _worst(status, _print_elsewhere(sender, item_id))
    for copy in report.copies:
        if not copy.saved:
            print(
                printable(f"Message {copy.item_id}: {copy.error} It will be tried again."),
                file=sys.stderr,
            )
    return status


def _worst(current: int, new: int) -> int:
    # A refusal needs a person, a queued message only time: the refusal is reported.
    order = [EXIT_OK, EXIT_QUEUED, EXIT_FAILED]
    return max(current, new, key=order.index)


def _print_result(result: SendResult) -> int:
    name = f"Message {result.item_id} ({result.subject or 'no subject'})"
    never = [r for r in result.refused if not r.transient]
    if result.maybe_sent:
        consequence = (
            "its recipients may receive it twice"
            if result.accepted
            else "its recipients may have it already"
        )
        print(
            f"{name} may already have been sent by an earlier attempt that was interrupted "
            f"after the data: {consequence}.",
            file=sys.stderr,
        )
    if result.accepted:
        print(f"{name} was accepted for {', '.join(result.accepted)}.")
    if never and result.outcome is not Outcome.FAILED:
        print(f"{name}: the server refused some recipients:", file=sys.stderr)
        for refusal in never:
            print(printable(f"  {refusal}"), file=sys.stderr)
    if result.outcome is Outcome.QUEUED:
        print(
            printable(
                f"{name} is not sent yet: {result.error}\nIt stays in the outbox and will be "
                "tried again; `mailclient outbox flush` tries now."
            ),
            file=sys.stderr,
        )
        return EXIT_QUEUED
    if result.outcome is Outcome.FAILED:
        print(
            printable(
                f"{name} was refused: {result.error}\nIt stays in the outbox: "
                f"`mailclient outbox retry {result.item_id}` sends it again, "
                f"`mailclient outbox delete {result.item_id}` discards it."
            ),
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_FAILED if never else EXIT_OK


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _describe(item: OutboxItem) -> str:
    lines = [
        f"{item.id}\t{item.state}\t{item.account}\t{item.subject or '(no subject)'}"
        f"\tto {', '.join(item.recipients) or '-'}"
    ]
    if item.state is OutboxState.QUEUED and item.scheduled and item.send_at is not None:
        lines.append(f"  scheduled for: {_when(item.send_at)}")
    elif item.state is OutboxState.QUEUED:
        lines.append(f"  attempts: {item.attempts}; next try: {_when(item.next_attempt)}")
    if item.last_error:
        lines.append(f"  last error: {item.last_error}")
    lines += [f"  refused: {r}" for r in item.refused if str(r) not in item.last_error]
    if item.maybe_sent:
        lines.append("  may already have been sent (sending was interrupted after the data)")
    if item.copy_error:
        lines.append(f"  Sent folder: {item.copy_error}")
    return "\n".join(lines)
