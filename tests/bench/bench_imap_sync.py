"""Benchmark: the initial header sync of a big INBOX, against the naive imapclient way.

Fills the rig's Dovecot with varied messages (2,000 by default, 50,000 with
BENCH_SIZE=full) and prints, in one run:

- the naive way: imapclient FETCH of ENVELOPE FLAGS RFC822.SIZE BODYSTRUCTURE
  INTERNALDATE in 5,000-UID chunks, in messages per second (the baseline);
- our initial sync, all the way into the store, in messages per second, and the ratio;
  the CPU time it took and that of the Dovecot serving it (with the server on the same
  machine, half their sum on two cores is the least wall time possible);
- the time until the newest 500 are in the store;
- a no-change resync, and a resync after one flag change and one new message;
- `mailclient sync` with nothing new against `mailclient --version` (and the
  interpreter alone), wall and CPU time of the process;
- the peak RSS of the process that ran our sync (a fresh process, so nothing else counts);
- how often has-attachments (from Content-Type, then BODYSTRUCTURE where that cannot
  tell) matches what the generator put in;
- what the full-text header index and the threads add to the initial sync: the same sync
  with the server cache warm, with both, without the threads and without either, run in
  turn (best of two) so that the load of the machine hits all alike (the issue wants
  <= 25% for the index and <= 15% for threading).

The issue's targets (>= 2x the naive way, newest 500 in < 1 s, no-change resync
< 100 ms) are printed next to the figures; like every benchmark here it asserts
correctness, not time.
"""

from __future__ import annotations

import compileall
import contextlib
import itertools
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from imapclient import IMAPClient

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.imap.headers import SUMMARY_FIELDS
from mailclient.imap.sync import AccountSync, SyncProgress
from mailclient.store import search, threads
from mailclient.store.mail import MailStore
from tests.rig import MailServers

ROOT = Path(__file__).resolve().parents[2]
# BENCH_SIZE=million is for a run by hand (about ten minutes and 5 GB of /dev/shm); it
# leaves out the naive way (which would take as long again) and the warm second sync.
SIZES = {"full": 50_000, "million": 1_000_000}
SIZE = SIZES.get(os.environ.get("BENCH_SIZE", ""), 2_000)
FULL = SIZE >= 50_000
MILLION = SIZE >= 1_000_000
# How many messages the has-attachments check reads back (all of them would not fit in
# the memory the million-message run measures).
CHECKED = min(SIZE, 50_000)
NOCHANGE_MS = 1000 if MILLION else 100
USER = "bob"
NAIVE_CHUNK = 5_000
NEWEST = 500

SENDERS = [
    '"Doe, Jane" <jane@example.org>',
    "Bob Builder <bob@build.example>",
    "=?utf-8?Q?Zo=C3=AB_=C3=91and=C3=BA?= <zoe@example.es>",
    "=?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>",
    "=?koi8-r?B?8NLJ18XU?= <privet@example.ru>",
    "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= <nihongo@example.jp>",
    "notifications@service.example",
    "<bare@example.net>",
]
SUBJECTS = [
    "Weekly status",
    "Re: Budget review for Q{n}",
    "=?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?= #{n}",
    "=?windows-1252?Q?=93Quoted=94_offer?= {n}",
    "Fwd: Invoice {n} attached",
    "=?gb2312?B?1tDOxA==?= {n}",
    "A rather long subject line that goes on and on about the meeting agenda {n}",
]
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
]


def varied_messages(count: int, seed: int = 3) -> Iterator[tuple[bytes, bool]]:
    """(raw message, really has an attachment) in arrival order; dates rise with UIDs."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for n in range(count):
        date = format_datetime(start + timedelta(minutes=10 * n, seconds=rng.randrange(600)))
        head = (
            f"Date: {date}\r\nFrom: {rng.choice(SENDERS)}\r\n"
            f"To: Bob <bob@example.org>{', team@example.org' if n % 4 == 0 else ''}\r\n"
            + ("Cc: carol@example.org\r\n" if n % 7 == 0 else "")
            + f"Subject: {rng.choice(SUBJECTS).format(n=n)}\r\n"
            f"Message-ID: <{n}.{seed}@bench.example>\r\n"
            + (
                f"In-Reply-To: <{n - 1}.{seed}@bench.example>\r\n"
                f"References: <{n - 2}.{seed}@bench.example> <{n - 1}.{seed}@bench.example>\r\n"
                if n % 3 == 0 and n > 1
                else ""
            )
            + "MIME-Version: 1.0\r\n"
        )
        text = " ".join(rng.choices(WORDS, k=rng.randrange(20, 400)))
        kind = n % 10
        if kind == 0:  # a real attachment
            blob = "JVBERi0xLjQK" * rng.randrange(10, 200)
            yield (
                (
                    head + 'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
                    f"Content-Type: text/plain\r\n\r\n{text}\r\n--m\r\n"
                    "Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                    f'filename="report-{n}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                    f"{blob}\r\n--m--\r\n"
                ).encode(),
                True,
            )
        elif kind == 1:  # multipart/mixed without an attachment (some mailers do this)
            yield (
                (
                    head + 'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
                    f"Content-Type: text/plain\r\n\r\n{text}\r\n--m--\r\n"
                ).encode(),
                False,
            )
        elif kind == 2:  # HTML with a plain alternative
            yield (
                (
                    head + 'Content-Type: multipart/alternative; boundary="a"\r\n\r\n--a\r\n'
                    f"Content-Type: text/plain\r\n\r\n{text}\r\n--a\r\n"
                    f"Content-Type: text/html\r\n\r\n<p>{text}</p>\r\n--a--\r\n"
                ).encode(),
                False,
            )
        else:
            yield (
                (head + f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode(),
                (False),
            )


def fill(servers: MailServers) -> list[bool]:
    """Fill the INBOX; 70% of the messages read, a few flagged. Returns the truth."""
    truth: list[bool] = []
    messages = varied_messages(SIZE)
    # fill_maildir gives flags per call; keep arrival order by filling in runs.
    step = max(100, min(SIZE // 50, 20_000))
    for start in range(0, SIZE, step):
        run = list(itertools.islice(messages, step))
        truth += [has for _, has in run]
        slot = (start // step) % 10
        flags = ["\\Seen"] if slot < 7 else (["\\Flagged"] if slot == 7 else [])
        servers.fill_maildir(USER, "INBOX", (raw for raw, _ in run), flags=flags)
    return truth


def naive_throughput(servers: MailServers) -> float:
    with servers.imap(USER) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        start = time.perf_counter()
        seen = 0
        for first in range(0, len(uids), NAIVE_CHUNK):
            chunk = uids[first : first + NAIVE_CHUNK]
            fetched = client.fetch(
                chunk, ["ENVELOPE", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "INTERNALDATE"]
            )
            seen += len(fetched)
        elapsed = time.perf_counter() - start
    assert seen == SIZE
    return seen / elapsed


def peak_rss_mb() -> float:
    """This process's peak resident size. Not ru_maxrss: Linux carries that over from the
    forked parent across exec, so a spawned child would report pytest's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + sys) of the running processes of a process group: the Dovecot
    whose master leads it, with its imap processes."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # After the command: state, ppid, pgrp, ... utime (the 12th), stime.
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def raw_read_seconds(account: Account, config: dict[str, Any]) -> float:
    """The server alone: our header FETCH of the whole INBOX read off the socket, unparsed."""
    client = IMAPClient(account.imap_host, account.imap_port, ssl_context=config["context"])
    client.login(account.login, config["password"])
    client.select_folder("INBOX", readonly=True)
    fields = " ".join(SUMMARY_FIELDS).encode()
    stream = client._imap.file
    start = time.perf_counter()
    client._imap.send(
        b"RAW1 UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS ("
        + fields
        + b")])\r\n"
    )
    tail = b""
    while b"\r\nRAW1 " not in (window := tail + stream.read1(1 << 20)):
        tail = window[-16:]
    elapsed = time.perf_counter() - start
    client.logout()
    return elapsed


def neomutt_seconds(servers: MailServers, directory: Path) -> float | None:
    """neomutt's first open of the INBOX (every header fetched, header cache off), from
    launch to quit; None where neomutt is not installed (it is not in CI).

    neomutt wants a terminal: script(1) gives it one. It quits as soon as the index is
    built (the pushed <quit> is read after the mailbox opened).
    """
    if shutil.which("neomutt") is None or shutil.which("script") is None:
        return None
    bob = servers.user(USER)
    rc = directory / "neomuttrc"
    server = f"imaps://{servers.host}:{servers.imaps_port}/"
    rc.write_text(
        f'set folder="{server}"\nset spoolfile="+INBOX"\n'
        f'set ssl_ca_certificates_file="{servers.ca_file}"\n'
        f'set imap_user="{bob.username}"\nset imap_pass="{bob.password}"\n'
        'set header_cache=""\nset message_cachedir=""\nset quit=yes\n'
        "set mail_check_stats=no\nset imap_check_subscribed=no\n"
    )
    command = f"neomutt -n -F {rc} -f {server}INBOX -e 'push <quit>'"
    start = time.perf_counter()
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        env=dict(os.environ, TERM="xterm"),
        capture_output=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    # Its status line, as the index shows it: proof it read the whole folder (our sync
    # appended one message before).
    shown = f"Msgs:{SIZE + 1} ".encode()
    assert done.returncode == 0 and shown in done.stdout, done.stdout[-500:]
    return elapsed


def cli_run(profile: Path, *args: str, stdin: str = "") -> tuple[float, float]:
    """``mailclient --profile PROFILE ARGS`` from launch to exit: seconds of wall time, and
    of CPU time (user + sys) of the process and whatever it ran."""
    return timed_run([sys.executable, "-m", "mailclient", "--profile", str(profile), *args], stdin)


def timed_run(command: list[str], stdin: str = "") -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu


def cli_resync(
    servers: MailServers, port: int, store: Path, directory: Path
) -> dict[str, tuple[float, float]]:
    """The interpreter alone (``python -c pass``), ``mailclient --version`` and
    ``mailclient sync`` with nothing new: (wall, CPU) seconds, the best of three each, run
    in turn so that the load of the machine hits all alike.

    The profile gets the store the benchmark synced; one sync first brings the folders
    other than INBOX up to date, so the timed ones find nothing to do.
    """
    # An installed mailclient starts from compiled bytecode; a checkout run with
    # PYTHONDONTWRITEBYTECODE (as CI and this rig are) would compile every module it
    # imports at every start, which no user pays (as in bench_window).
    compileall.compile_dir(ROOT / "mailclient", quiet=1)
    bob = servers.user(USER)
    profile = directory / "profile"
    cli_run(
        profile, "account", "add", "bench", "--email", bob.address,
        "--imap-host", servers.host, "--imap-port", str(port),
        "--ca-file", str(servers.ca_file), "--password-stdin", stdin=bob.password + "\n",
    )  # fmt: skip
    shutil.copyfile(store, profile / "mail.sqlite3")
    cli_run(profile, "sync")
    runs: dict[str, list[tuple[float, float]]] = {"python": [], "version": [], "sync": []}
    for _ in range(3):
        runs["python"].append(timed_run([sys.executable, "-c", "pass"]))
        runs["version"].append(cli_run(profile, "--version"))
        runs["sync"].append(cli_run(profile, "sync"))
    return {
        name: (min(wall for wall, _ in found), min(cpu for _, cpu in found))
        for name, found in runs.items()
    }


def run_our_sync(config: dict[str, Any], results: Any) -> None:
    """In a fresh process: initial sync, no-change resync, resync after two changes."""
    account = Account(**config["account"])
    figures: dict[str, Any] = {}
    store = MailStore.open(Path(config["store"]))
    newest_at: list[float] = []
    reported: list[float] = []
    start = time.perf_counter()

    def progress(p: SyncProgress) -> None:
        if not newest_at and p.fetched >= min(NEWEST, p.missing):
            newest_at.append(time.perf_counter() - start)
        if "initial_s" not in figures:
            figures["headers_s"] = time.perf_counter() - start
            reported.append(figures["headers_s"])

    engine = AccountSync(account, FixedPassword(config["password"]), store, on_progress=progress)
    server_cpu, our_cpu = group_cpu_seconds(config["server_group"]), time.process_time()
    [initial] = engine.sync(["INBOX"])
    figures["initial_s"] = time.perf_counter() - start
    figures["our_cpu_s"] = time.process_time() - our_cpu
    figures["server_cpu_s"] = group_cpu_seconds(config["server_group"]) - server_cpu
    figures["initial_new"] = initial.new
    figures["newest_s"] = newest_at[0]
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["reports"] = len(reported)
    figures["longest_silence_s"] = max(b - a for a, b in itertools.pairwise([0.0, *reported]))
    # Said at once: the steps after this one take long on a million messages.
    print(f"initial sync: {figures}", flush=True)

    times = []
    for _ in range(3):
        start = time.perf_counter()
        [unchanged] = engine.sync(["INBOX"])
        times.append((time.perf_counter() - start) * 1000)
        assert (unchanged.new, unchanged.changed, unchanged.removed) == (0, 0, 0)
    figures["nochange_ms"], figures["nochange_later_ms"] = times[0], min(times[1:])

    client = IMAPClient(account.imap_host, account.imap_port, ssl_context=config["context"])
    client.login(account.login, config["password"])
    client.select_folder("INBOX")
    # The oldest message (sequence number 1): a SEARCH ALL answer of a million UIDs is
    # longer than imaplib reads in one line.
    client.use_uid = False
    oldest = client.fetch([1], ["UID"])[1][b"UID"]
    client.use_uid = True
    client.add_flags([oldest], ["\\Answered"])
    client.append("INBOX", config["new_message"])
    client.logout()
    start = time.perf_counter()
    [changed] = engine.sync(["INBOX"])
    figures["changed_ms"] = (time.perf_counter() - start) * 1000
    figures["changed"] = (changed.new, changed.changed, changed.removed)

    # The same initial sync into a fresh store, now that Dovecot has the header fields in
    # its cache: what our side can do when the server is not reading files; and so again
    # without the threads, and without them and the index, for what each one costs.
    if not MILLION:
        warm_runs: dict[str, list[tuple[float, float]]] = {
            "warm_s": [],
            "unthreaded_s": [],
            "bare_s": [],
        }
        for round_ in range(2):
            for name, index, thread in (
                ("warm_s", True, True),
                ("unthreaded_s", True, False),
                ("bare_s", False, False),
            ):
                path = Path(f"{config['store']}.{name}{round_}")
                warm_runs[name].append(warm_sync_seconds(account, config, path, index, thread))
        figures.update({name: min(runs) for name, runs in warm_runs.items()})
    figures["raw_s"] = raw_read_seconds(account, config)

    inbox = store.folder_by_name(account.name, "INBOX")
    assert inbox is not None
    ids = store.message_ids(inbox.id)
    oldest = ids[-CHECKED:]  # newest first: the oldest are the first the generator made
    in_arrival_order = sorted(store.summaries(oldest), key=lambda s: s.uid)
    figures["attachments"] = [s.has_attachments for s in in_arrival_order]
    figures["stored"] = len(ids)
    engine.close()
    store.close()
    results.put(figures)


def warm_sync_seconds(
    account: Account, config: dict[str, Any], path: Path, index: bool, thread: bool
) -> tuple[float, float]:
    """An initial sync of the INBOX into a fresh store at ``path``, with or without the
    full-text header index and the threads (switched off as bench_search does): seconds of
    wall time and of CPU time of this process (all its threads: less swayed by the load of
    a shared machine)."""
    with contextlib.ExitStack() as patches, MailStore.open(path) as store:
        if not index:
            store._db.execute("DROP INDEX messages_for_search")
            patches.enter_context(mock.patch.object(search, "index_new_messages", _nothing))
        if not thread:
            patches.enter_context(mock.patch.object(threads, "thread_new_messages", _nothing))
        start, cpu = time.perf_counter(), time.process_time()
        engine = AccountSync(account, FixedPassword(config["password"]), store)
        engine.sync(["INBOX"])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        engine.close()
    return elapsed, cpu


def _nothing(*args: object) -> int:
    return 0


@pytest.mark.slow
@pytest.mark.bench
def test_initial_sync_against_the_naive_way(
    mail_servers: MailServers, tmp_path: Path, secret_service: object
) -> None:
    servers = mail_servers
    servers.reset_user(USER)
    began = time.perf_counter()
    truth = fill(servers)
    fill_s = time.perf_counter() - began
    naive = None if MILLION else naive_throughput(servers)

    bob = servers.user(USER)
    port, dovecot = servers.imaps_port, servers.dovecot
    if MILLION:
        # Dovecot's imap process needs more than its default 256 MB for a million messages.
        dovecot = servers.start_dovecot("service imap {\n  vsz_limit = 2G\n}")
        assert dovecot.imaps_port is not None
        port = dovecot.imaps_port
    config = {
        "account": {
            "name": "bench",
            "email": bob.address,
            "imap_host": servers.host,
            "imap_port": port,
            "imap_security": Security.SSL,
            "smtp_host": servers.host,
            "ca_file": str(servers.ca_file),
        },
        "password": bob.password,
        "server_group": dovecot.pid,
        "store": str(tmp_path / "mail.sqlite3"),
        "context": None,
        "new_message": next(varied_messages(1, seed=99))[0],
    }
    # The child builds its own TLS context from the CA file (contexts do not pickle).
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(config, results))
    child.start()
    figures = results.get(timeout=3600 if MILLION else 600)
    child.join(timeout=60)
    assert child.exitcode == 0
    # After ours: Dovecot has the header fields in its cache by now, to neomutt's benefit.
    neomutt = None if MILLION else neomutt_seconds(servers, tmp_path)
    cli = cli_resync(servers, port, Path(config["store"]), tmp_path)
    (cli_nothing, nothing_cpu), (cli_sync, sync_cpu) = cli["version"], cli["sync"]

    ours = SIZE / figures["initial_s"]
    structure_s = figures["initial_s"] - figures["headers_s"]
    guessed = figures["attachments"][:CHECKED]
    agree = sum(g == t for g, t in zip(guessed, truth[:CHECKED], strict=True)) / CHECKED
    over_raw = figures["initial_s"] / figures["raw_s"]
    both_cpu = figures["our_cpu_s"] + figures["server_cpu_s"]
    rows = [
        ("messages", f"{SIZE:,}", ""),
        ("fill the Maildir (setup)", f"{fill_s:.1f} s", ""),
    ]
    if naive is not None:
        rows += [
            ("naive imapclient FETCH, msg/s", f"{naive:,.0f}", "baseline"),
            ("our initial sync into the store, msg/s", f"{ours:,.0f}", ""),
            ("ratio ours / naive", f"{ours / naive:.1f}x", _verdict(ours / naive >= 2, ">= 2x")),
        ]
    rows += [
        (
            "our initial sync into the store",
            f"{figures['initial_s']:.2f} s",
            _verdict(figures["initial_s"] <= 60, "<= 60 s") if MILLION else "",
        ),
        ("  of which all headers stored after", f"{figures['headers_s']:.2f} s", ""),
        (
            "  CPU time in it: ours / Dovecot's",
            f"{figures['our_cpu_s']:.2f} / {figures['server_cpu_s']:.2f} s",
            f"on {os.cpu_count()} cores no less than {both_cpu / (os.cpu_count() or 1):.2f} s",
        ),
        ("  then the structure of multipart mail", f"{structure_s:.2f} s", ""),
        ("  progress reports", f"{figures['reports']:,}", ""),
        ("  longest time without one", f"{figures['longest_silence_s']:.2f} s", ""),
        ("the server alone (raw TLS read of our FETCH)", f"{figures['raw_s']:.2f} s", "baseline"),
        ("ratio initial sync / raw read", f"{over_raw:.1f}x", _verdict(over_raw <= 4.5, "<= 4.5x")),
    ]
    if "warm_s" in figures:
        (warm_s, warm_cpu), (unthreaded_s, unthreaded_cpu), (bare_s, bare_cpu) = (
            figures["warm_s"],
            figures["unthreaded_s"],
            figures["bare_s"],
        )
        index_share = unthreaded_s / bare_s - 1
        thread_share = warm_s / unthreaded_s - 1
        rows += [
            ("our initial sync again, server cache warm", f"{warm_s:.2f} s", "best of 2"),
            ("  the same without the threads", f"{unthreaded_s:.2f} s", ""),
            ("  the same without the threads and the index", f"{bare_s:.2f} s", ""),
            (
                "  the header index adds",
                f"{index_share:.0%}",
                _verdict(index_share <= 0.25, "<= 25%"),
            ),
            ("  threading adds", f"{thread_share:.0%}", _verdict(thread_share <= 0.15, "<= 15%")),
            (
                "  CPU time of the three",
                f"{warm_cpu:.1f}/{unthreaded_cpu:.1f}/{bare_cpu:.1f} s",
                "",
            ),
            ("  by CPU time: the index adds", f"{unthreaded_cpu / bare_cpu - 1:.0%}", ""),
            ("  by CPU time: threading adds", f"{warm_cpu / unthreaded_cpu - 1:.0%}", ""),
        ]
    if neomutt is None:
        why = "left out at a million" if MILLION else "not installed"
        rows.append(("neomutt's first open (header cache off)", "-", f"baseline: {why}"))
    else:
        faster = neomutt / figures["initial_s"]
        rows += [
            ("neomutt's first open (header cache off)", f"{neomutt:.2f} s", "baseline"),
            ("  neomutt / our initial sync", f"{faster:.1f}x", _verdict(faster >= 2, ">= 2x")),
        ]
    rows += [
        (
            f"newest {NEWEST} in the store",
            f"{figures['newest_s'] * 1000:.0f} ms",
            _verdict(figures["newest_s"] < 0.3, "< 300 ms"),
        ),
        (
            "no-change resync",
            f"{figures['nochange_ms']:.1f} ms",
            _verdict(figures["nochange_ms"] < NOCHANGE_MS, f"< {NOCHANGE_MS:,} ms"),
        ),
        ("  the same, twice more (best)", f"{figures['nochange_later_ms']:.1f} ms", ""),
        (
            "the interpreter alone (`python -c pass`), best of 3",
            f"{cli['python'][0] * 1000:.0f} ms",
            "",
        ),
        ("`mailclient --version`, best of 3", f"{cli_nothing * 1000:.0f} ms", "baseline"),
        ("`mailclient sync`, nothing new, best of 3", f"{cli_sync * 1000:.0f} ms", ""),
        (
            "  our own time above the baseline",
            f"{(cli_sync - cli_nothing) * 1000:.0f} ms",
            _verdict(cli_sync - cli_nothing <= NOCHANGE_MS / 1000, f"<= {NOCHANGE_MS:,} ms"),
        ),
        (
            "  CPU time (user+sys) of --version / of sync",
            f"{nothing_cpu * 1000:.0f} / {sync_cpu * 1000:.0f} ms",
            f"sync's own: {(sync_cpu - nothing_cpu) * 1000:.0f} ms",
        ),
        ("resync after 1 flag change + 1 new message", f"{figures['changed_ms']:.1f} ms", ""),
        (
            "peak RSS of the syncing process",
            f"{figures['peak_rss_mb']:.0f} MB",
            _verdict(figures["peak_rss_mb"] <= 300, "<= 300 MiB") if MILLION else "",
        ),
        (f"has-attachments right after the sync ({CHECKED:,} read)", f"{agree:.1%}", ""),
    ]
    size_name = {2_000: "small; BENCH_SIZE=full for 50,000"}.get(SIZE, f"{SIZE:,}")
    print(f"\nIMAP sync benchmark ({size_name})")
    for name, value, note in rows:
        print(f"  {name:50} {value:>10}  {note}")

    assert figures["initial_new"] == SIZE
    assert figures["changed"] == (1, 1, 0)
    assert figures["stored"] == SIZE + 1


def _verdict(met: bool, target: str) -> str:
    return f"target {target}: {'met' if met else 'MISSED'}"


def _child(config: dict[str, Any], results: Any) -> None:
    import logging
    import ssl

    if MILLION:
        # Where a long run spends its time: each phase of the sync logs when it starts.
        logging.basicConfig(
            format="%(relativeCreated)9.0f ms %(threadName)s %(message)s", stream=sys.stderr
        )
        for name in ("mailclient.imap.sync", "mailclient.store.mail"):
            logging.getLogger(name).setLevel(logging.DEBUG)

    config["context"] = ssl.create_default_context(cafile=config["account"]["ca_file"])
    run_our_sync(config, results)
