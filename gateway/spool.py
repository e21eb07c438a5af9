"""The on-disk spool: batches that are durable but not yet in the store.

Contract:

- :meth:`Spool.append` adds one batch at the tail; :meth:`Spool.sync` makes every appended
  batch durable (``fsync``). The gateway acknowledges a spooled batch's messages only after
  :meth:`sync` returned.
- :meth:`Spool.read` returns batches from the head, oldest first, without removing them;
  :meth:`Spool.commit` removes them once the store has them. A crash between the two replays
  them again, which the store's idempotent writes absorb.
- The spool is bounded: :meth:`Spool.has_room` says whether ``max_bytes`` would still hold
  another batch. At the bound the gateway stops acknowledging (the broker holds the backlog).

Layout: a folder of append-only segment files ``{n:012d}.seg``; each batch is one line::

    <spooled_ms> <points>/<messages> <JSON>\\n

with JSON ``{"r": [[entity, device, ts_ms, values, seq, stamped], ...], "e": [[entity,
device, ts_ms, id, type, attrs], ...], "j": [[reason, detail, topic, payload_base64,
received_ms, item, entity, device, source, message_ns, ordinal, payload_sha256,
payload_size], ...]}`` (no pickle: a spool file is safe to read). A
segment is deleted when replay has passed its end; ``cursor`` holds ``<segment> <offset>``
of the first batch not yet replayed. A torn last line (power cut during a write) is cut off
at start: its messages were never acknowledged, so the broker redelivers them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from gateway.message import Batch
from telemetry.model import Event, Reading, Reject

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Entry:
    segment: int
    offset: int
    length: int
    spooled_ms: int
    points: int
    messages: int = 0


def encode(batch: Batch, spooled_ms: int) -> bytes:
    """One spool line for ``batch``."""
    doc = {
        "r": [[r.entity, r.device, r.ts_ms, r.values, r.seq, r.stamped] for r in batch.readings],
        "e": [[e.entity, e.device, e.ts_ms, e.id, e.type, e.attrs] for e in batch.events],
        "j": [
            [
                j.reason,
                j.detail,
                j.topic,
                base64.b64encode(j.payload).decode(),
                j.received_ms,
                j.item,
                j.entity,
                j.device,
                j.source,
                j.message_ns,
                j.ordinal,
                j.payload_sha256,
                j.payload_size,
            ]
            for j in batch.rejects
        ],
    }
    body = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    return f"{spooled_ms} {batch.points}/{batch.messages} {body}\n".encode()


def decode(line: bytes) -> Batch:
    """A batch (records only, no tokens) from one spool line."""
    _, _, body = line.split(b" ", 2)
    doc = json.loads(body)
    batch = Batch()
    batch.readings = [Reading(*r) for r in doc["r"]]
    batch.events = [Event(*e) for e in doc["e"]]
    batch.rejects = [Reject(j[0], j[1], j[2], base64.b64decode(j[3]), *j[4:]) for j in doc["j"]]
    return batch


class Spool:
    """Append-only segment files in ``folder``, bounded by ``max_bytes`` [bytes].

    segment_bytes : size at which a new segment file starts [bytes]; default
        ``max_bytes / 16`` within 64 KiB .. 64 MiB
    """

    def __init__(self, folder: Path, max_bytes: int, *, segment_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or min(64 << 20, max(64 << 10, max_bytes // 16))
        self._entries: deque[_Entry] = deque()
        self._sizes: dict[int, int] = {}  # segment number -> bytes on disk
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self._points = 0
        self._messages = 0
        self._unsynced = False
        self._load()

    # -- state ---------------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        return not self._entries

    @property
    def batches(self) -> int:
        """Batches not yet replayed."""
        return len(self._entries)

    @property
    def points(self) -> int:
        """Records not yet replayed."""
        return self._points

    @property
    def messages(self) -> int:
        """MQTT messages whose records are spooled, not yet replayed (acknowledged)."""
        return self._messages

    @property
    def disk_bytes(self) -> int:
        """Bytes of segment files on disk (what the bound counts) [bytes]."""
        return sum(list(self._sizes.values()))

    @property
    def oldest_ms(self) -> int | None:
        """When the oldest batch not yet replayed was spooled [ms], or None."""
        try:
            return self._entries[0].spooled_ms  # read from other threads: no check-then-act
        except IndexError:
            return None

    def has_room(self, nbytes: int) -> bool:
        """True when ``nbytes`` more still fit under ``max_bytes``."""
        return self.disk_bytes + nbytes <= self.max_bytes

    # -- write side ----------------------------------------------------------------------
    def append_line(self, line: bytes, points: int, spooled_ms: int, messages: int = 0) -> None:
        """Append one encoded batch (see :func:`encode`); durable after :meth:`sync`."""
        if self._fd is None or self._size >= self.segment_bytes:
            self._open_next()
        assert self._fd is not None
        offset = self._size
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            os.ftruncate(self._fd, offset)  # e.g. disk full: leave no partial line behind
            raise
        self._size += len(line)
        self._sizes[self._segment] = self._size
        self._entries.append(_Entry(self._segment, offset, len(line), spooled_ms, points, messages))
        self._points += points
        self._messages += messages
        self._unsynced = True

    def sync(self) -> None:
        """fsync the open segment (and the folder, for new segment files)."""
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
            self._unsynced = False

    # -- read side -----------------------------------------------------------------------
    def read(self, max_points: int) -> tuple[Batch, int]:
        """Merge batches from the head until ``max_points`` records (at least one batch).

        Returns the merged batch and how many spooled batches it holds (for :meth:`commit`).
        """
        merged = Batch()
        count = 0
        fds: dict[int, int] = {}
        try:
            for entry in self._entries:
                if count and merged.points + entry.points > max_points:
                    break
                fd = fds.get(entry.segment)
                if fd is None:
                    fd = fds[entry.segment] = os.open(self._path(entry.segment), os.O_RDONLY)
                line = os.pread(fd, entry.length, entry.offset)
                try:
                    merged.extend(decode(line))
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    log.error(
                        "event=spool_corrupt segment=%d offset=%d error=%r",
                        entry.segment,
                        entry.offset,
                        exc,
                    )
                count += 1
        finally:
            for fd in fds.values():
                os.close(fd)
        return merged, count

    def commit(self, count: int) -> None:
        """Drop the ``count`` oldest batches (they are in the store now)."""
        for _ in range(min(count, len(self._entries))):
            entry = self._entries.popleft()
            self._points -= entry.points
            self._messages -= entry.messages
        if not self._entries:
            self._reset()
            return
        head = self._entries[0]
        for seg in [s for s in self._sizes if s < head.segment]:
            self._remove(seg)
        self._write_cursor(head.segment, head.offset)

    def close(self) -> None:
        self.sync()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- internals -----------------------------------------------------------------------
    def _path(self, segment: int) -> Path:
        return self.folder / f"{segment:012d}.seg"

    def _open_next(self) -> None:
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
        self._segment += 1
        self._fd = os.open(self._path(self._segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = 0
        self._sizes[self._segment] = 0
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _remove(self, segment: int) -> None:
        self._sizes.pop(segment, None)
        if segment == self._segment and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._path(segment).unlink(missing_ok=True)

    def _reset(self) -> None:
        for seg in list(self._sizes):
            self._remove(seg)
        (self.folder / "cursor").unlink(missing_ok=True)
        self._points = 0
        self._messages = 0

    def _write_cursor(self, segment: int, offset: int) -> None:
        tmp = self.folder / "cursor.tmp"
        tmp.write_text(f"{segment} {offset}\n")
        os.replace(tmp, self.folder / "cursor")

    def _load(self) -> None:
        segments = sorted(int(p.stem) for p in self.folder.glob("*.seg") if p.stem.isdigit())
        cursor_seg, cursor_off = 0, 0
        cursor = self.folder / "cursor"
        if cursor.exists():
            try:
                a, b = cursor.read_text().split()
                cursor_seg, cursor_off = int(a), int(b)
            except ValueError:
                log.error("event=spool_cursor_unreadable path=%s (replaying all)", cursor)
        for seg in segments:
            path = self._path(seg)
            if seg < cursor_seg:
                path.unlink(missing_ok=True)
                continue
            data = path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                log.warning("event=spool_torn_tail segment=%d cut_bytes=%d", seg, len(data) - end)
                with path.open("r+b") as f:
                    f.truncate(end)
                data = data[:end]
            self._sizes[seg] = end
            pos = 0
            while pos < end:
                nl = data.index(b"\n", pos)
                if seg > cursor_seg or pos >= cursor_off:
                    head = data[pos : min(nl, pos + 40)].split(b" ", 2)
                    points, _, messages = head[1].partition(b"/")  # older lines: "<points>"
                    entry = _Entry(
                        seg, pos, nl + 1 - pos, int(head[0]), int(points), int(messages or 0)
                    )
                    self._entries.append(entry)
                    self._points += entry.points
                    self._messages += entry.messages
                pos = nl + 1
        self._segment = segments[-1] if segments else 0
        if not self._entries:
            self._reset()
        elif self._entries:
            log.info(
                "event=spool_loaded batches=%d points=%d bytes=%d",
                len(self._entries),
                self._points,
                self.disk_bytes,
            )
