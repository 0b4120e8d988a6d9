"""Open file descriptors and the objects that own them, for "Too many open files" failures.

A process that runs out of descriptors ("Too many open files", or Android's "Could not allocate
JNI Env" / "Could not read input channel file descriptors") has its open files, sockets and pipes
in the heap as ``java.io.FileDescriptor`` objects. Each has a number (``fd`` on HotSpot,
``descriptor`` on Android); a negative number means closed. Counting the open ones by the class of
the object that opened them (a FileInputStream, a socket implementation, a ParcelFileDescriptor)
and naming who holds those objects (through collections and I/O wrappers) points at the leak:
"1,900 FileInputStreams held by LogReaders.sOpen".

Not every object referencing a FileDescriptor owns it: on JDK 9+ the descriptor points back at
its stream (``parent``, ``otherParents``) and cleaners keep closing actions that reference it;
the FileDescriptor class's statics hold the standard streams' descriptors. Those are skipped, or
chosen only when nothing else references the descriptor. Descriptors of unreachable streams are
still open in the process (until a GC runs their cleaners), so they count, and are also counted
apart.

Android's database cursors hold native memory windows (``android.database.CursorWindow``);
their count is given too, the open ones being those with a native pointer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from oomlens.analysis.owners import holder_classes, holding_objects, referrers_by_target
from oomlens.hprof.scan import KIND_CLASS
from oomlens.ids import format_id

FILE_DESCRIPTOR = "java.io.FileDescriptor"
CURSOR_WINDOW = "android.database.CursorWindow"
SAMPLE_SIZE = 10

# Referrers that are not owners: other descriptors (JDK 9+ ``parent`` links), cleaners and their
# actions, close guards, and the platform's own closing actions (NioSocketImpl's closer lambda,
# FileChannelImpl$Closer).
_BOOKKEEPING = re.compile(
    r"^(java\.io\.FileDescriptor|java\.io\.FileCleanable|java\.lang\.ref\..*|"
    r"jdk\.internal\.ref\..*|sun\.misc\.Cleaner|dalvik\.system\.CloseGuard|"
    r"(java|javax|jdk|sun|android|libcore)\..*(\$\w*Closer|\$\$Lambda.*))$")
# The classes that open descriptors, best owners when several objects reference one.
_OPENER_CLASSES = ("java.io.FileInputStream", "java.io.FileOutputStream",
                   "java.io.RandomAccessFile", "java.net.SocketImpl",
                   "java.net.DatagramSocketImpl", "android.os.ParcelFileDescriptor",
                   "android.net.LocalSocketImpl")
# Channels share their stream's descriptor: owners only when no stream references it.
_CHANNEL_CLASSES = ("java.nio.channels.spi.AbstractInterruptibleChannel",
                    "java.nio.channels.spi.AbstractSelector", "java.nio.FileChannelImpl")
_OPENER, _CHANNEL, _OTHER, _STATIC = range(4)
# Between an owner and the application object holding it there are wrappers (buffered and
# character streams, Socket around its SocketImpl, channels): looked through.
_IO_WRAPPER = re.compile(
    r"^(java\.io\.\w+|java\.net\.(Socket|ServerSocket|DatagramSocket|\w*SocketImpl|"
    r"\w*(Input|Output)Stream)|java\.nio\.channels\..+|sun\.nio\.(ch|cs)\.\w+|"
    r"java\.util\.zip\.\w+(Input|Output)Stream|sun\.security\.ssl\.SSL\w*Impl|"
    r"javax\.net\.ssl\.\w+)(\$\w+)*$")
_HOLDER_MAX_HOPS = 8  # Socket <- SocksSocketImpl <- NioSocketImpl, then a list, then its owner
# Descriptors that nothing but bookkeeping references, or only collections and arrays that
# nothing holds within reach (such as arrays held directly by a GC root: a thread's stack).
NO_OWNER = "(no owner)"


@dataclass
class DescriptorOwnerGroup:
    """Open descriptors whose owners are of one class, and who holds those owners."""
    owner_class: str
    count: int = 0
    unreachable: int = 0  # open, but garbage: the next GC's cleaners or finalizers close them
    holders: dict[str, int] = field(default_factory=dict)  # holder class -> descriptors
    descriptors: list[int] = field(default_factory=list)  # the lowest few numbers
    owner_ids: list[int] = field(default_factory=list)  # a few distinct owners

    def to_json(self) -> dict:
        return {"owner_class": self.owner_class, "count": self.count,
                "unreachable": self.unreachable, "holders": self.holders,
                "descriptors": self.descriptors,
                "owner_objects": [format_id(i) for i in self.owner_ids]}


@dataclass
class DescriptorSummary:
    open: int
    closed: int  # FileDescriptor objects still in the heap with a closed number
    by_owner: list[DescriptorOwnerGroup]  # most descriptors first
    cursor_windows: int | None = None  # None: no CursorWindow class in the dump
    open_cursor_windows: int | None = None  # None: the class has no native pointer field

    def to_json(self) -> dict:
        return {"open": self.open, "closed": self.closed,
                "by_owner": [g.to_json() for g in self.by_owner],
                "cursor_windows": self.cursor_windows,
                "open_cursor_windows": self.open_cursor_windows}


def open_descriptor_number(fd_object) -> int | None:
    """The number of an open descriptor, None for a closed one. The number is ``fd`` on HotSpot
    and ``descriptor`` on Android, negative once closed; HotSpot on Windows keeps files' ``fd``
    at -1 and opens them as a ``handle`` (-1 when closed), which is then the number."""
    for name in ("fd", "descriptor"):
        number = fd_object.get(name)
        if isinstance(number, int) and number >= 0:
            return number
    handle = fd_object.get("handle")
    return handle if isinstance(handle, int) and handle != -1 else None


def _owner_rank_by_class(heap) -> np.ndarray:
    """Per class index, how good an owner its instances make (lower is better)."""
    rank = np.full(len(heap.index.classes), _OTHER, np.int8)
    for names, value in ((_CHANNEL_CLASSES, _CHANNEL), (_OPENER_CLASSES, _OPENER)):
        for name in names:
            found = heap.index.classes.by_name(name)
            if len(found):
                rank[heap.class_indices_with_subclasses(found)] = value
    return rank


def summarize_descriptors(heap) -> DescriptorSummary:
    """Open descriptors grouped by the class of their owner, with the owners' holders.
    ``heap`` is an ``AnalyzedHeap``: reachability picks live owners and counts the garbage
    descriptors apart."""
    fds = heap.instance_indices(FILE_DESCRIPTOR)
    open_fds, numbers, closed = [], {}, 0
    for index in fds.tolist():
        number = open_descriptor_number(heap.object_at(index))
        if number is None:
            closed += 1
        else:
            open_fds.append(index)
            numbers[index] = number

    referrers = referrers_by_target(heap, open_fds)
    candidates = holding_objects(heap, open_fds, ignore=_BOOKKEEPING.match, referrers=referrers)
    rank_by_class = _owner_rank_by_class(heap)
    objects = heap.index.objects
    reachable = heap.dominator_tree.is_reachable

    def preference(obj: int) -> tuple[bool, int, int]:
        """Live owners before garbage ones, openers before channels before other objects
        before static fields."""
        if objects.kind[obj] == KIND_CLASS:
            tier = _STATIC
        else:
            tier = int(rank_by_class[objects.class_index[obj]])
        return not reachable(obj), tier, obj

    owner_of = {fd: min(found, key=preference) for fd, found in candidates.items() if found}
    instance_owners = sorted({o for o in owner_of.values() if objects.kind[o] != KIND_CLASS})
    owner_holders = holder_classes(heap, instance_owners, ignore=_BOOKKEEPING.match,
                                   look_through=_IO_WRAPPER.match, max_hops=_HOLDER_MAX_HOPS,
                                   referrers=referrers)
    groups: dict[str, DescriptorOwnerGroup] = {}
    holder_counts: dict[str, Counter] = {}
    for fd in open_fds:
        owner = owner_of.get(fd)
        owner_class = heap.class_name_of(owner) if owner is not None else NO_OWNER
        group = groups.setdefault(owner_class, DescriptorOwnerGroup(owner_class))
        group.count += 1
        if not reachable(fd):
            group.unreachable += 1
        group.descriptors.append(numbers[fd])
        owner_id = int(objects.ids[owner]) if owner is not None else None
        if owner_id is not None and owner_id not in group.owner_ids \
                and len(group.owner_ids) < SAMPLE_SIZE:
            group.owner_ids.append(owner_id)
        holder_counts.setdefault(owner_class, Counter()).update(owner_holders.get(owner, ()))
    for owner_class, group in groups.items():
        group.holders = dict(holder_counts[owner_class].most_common())
        group.descriptors = sorted(group.descriptors)[:SAMPLE_SIZE]

    windows, open_windows = _cursor_windows(heap)
    return DescriptorSummary(open=len(open_fds), closed=closed,
                             by_owner=sorted(groups.values(),
                                             key=lambda g: (-g.count, g.owner_class)),
                             cursor_windows=windows, open_cursor_windows=open_windows)


def _cursor_windows(heap) -> tuple[int | None, int | None]:
    """CursorWindow instances, and how many still have their native window (``mWindowPtr``,
    zeroed by ``dispose()``)."""
    if heap.find_class(CURSOR_WINDOW) is None:
        return None, None
    windows = heap.instance_indices(CURSOR_WINDOW).tolist()
    pointers = [heap.object_at(i).get("mWindowPtr") for i in windows]
    if any(not isinstance(p, int) for p in pointers):
        return len(windows), None
    return len(windows), sum(1 for p in pointers if p != 0)
