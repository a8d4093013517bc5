"""Front ends of a group commit: callers hand over one item each and wait for its own answer, while one
function (`run`) writes the items gathered meanwhile in one transaction. No timer and no thread of its own:

- `Batcher` for threads (sync routes, workers): the first caller to find nobody writing leads; it takes every
  item queued so far (up to `max_batch`), runs them and wakes their callers. Items that arrive meanwhile form
  the next batch, led by one of them. Alone, an item is a batch of one, at the cost it had before.
- `LoopBatcher` for coroutines: a batch runs in a worker thread while the event loop reads the next requests,
  which form the next batch.

`run(items)` returns one answer per item, in order: its result, or the exception that is its own answer
(raised to its caller). If `run` itself raises, every caller of that batch gets the exception: nobody is
answered as if written."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Run = Callable[[list[T]], list[Any]]


def _answer(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result


def _held() -> Any:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Slot(Generic[T]):
    item: T
    done: bool = False
    result: Any = None
    wake: Any = field(default_factory=_held)  # released once: its answer is in, or it is to lead


class Batcher(Generic[T, R]):
    """Each waiting thread sleeps on a lock of its own, woken once: by its answer, or to lead the next batch
    (the first of the queue, handed over by the leader before it leaves). One condition for all would wake
    every waiter at every commit, most of them only to sleep again: with two hundred threads that cost more
    than the batches."""

    def __init__(self, run: Run, max_batch: int) -> None:
        self.run = run
        self.max_batch = max_batch
        self.lock = threading.Lock()
        self.queue: list[_Slot[T]] = []
        self.writing = False

    def submit(self, item: T) -> R:
        slot = _Slot(item)
        with self.lock:
            self.queue.append(slot)
            leads = not self.writing
            self.writing = True
        if not leads:
            slot.wake.acquire()
            if slot.done:
                return _answer(slot.result)
        self._lead()  # its own slot is the first of the queue, so in the batch
        return _answer(slot.result)

    def _lead(self) -> None:
        with self.lock:
            batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
        results: list[Any] = []
        try:
            results = self.run([s.item for s in batch])
        except BaseException as exc:  # not an item's failure (an interrupt, a lost database): none is written
            results = [exc] * len(batch)
        finally:
            for s, r in zip(batch, results, strict=False):
                s.done, s.result = True, r
            for s in batch[len(results) :]:
                s.done, s.result = True, RuntimeError("not written")
            with self.lock:
                nxt = self.queue[0] if self.queue else None
                self.writing = nxt is not None
            for s in batch:
                s.wake.release()
            if nxt is not None:
                nxt.wake.release()


class LoopBatcher(Generic[T, R]):
    """`lanes` batches may be in flight at once (one by default: with one writer, more lanes only make the
    batches smaller)."""

    def __init__(self, run: Run, max_batch: int, lanes: int = 1) -> None:
        self.run = run
        self.max_batch = max_batch
        self.lanes = lanes
        self.pending: list[tuple[T, asyncio.Future[R]]] = []
        self.running = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self.pending.append((item, done))
        if self.running < self.lanes:
            self.running += 1
            loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0)  # let the requests already read this turn join the first batch
            while self.pending:
                batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
                try:
                    results = await loop.run_in_executor(None, self.run, [it for it, _ in batch])
                except BaseException as exc:
                    results = [exc] * len(batch)
                for (_, done), r in zip(batch, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(r, BaseException):
                        done.set_exception(r)
                    else:
                        done.set_result(r)
        finally:
            self.running -= 1


def weakly(run: Callable[[Any, list[T]], list[Any]], db: Any) -> Run[T]:
    """`run(db, items)` as a batcher's `run(items)`, reaching `db` through a weak reference: the batchers live
    in registries keyed weakly by their Database, and a value holding its key would keep it forever."""
    ref = weakref.ref(db)
    return lambda items: run(ref(), items)


class PerDatabase(Generic[T, R]):
    """One thread front end per Database, made on first use. Neither keeps the other alive: the registry's
    keys are weak, and a batcher reaches its Database through `weakly`. `run(db, items)` is the batch's
    work."""

    def __init__(self, run: Callable[[Any, list[T]], list[Any]], max_batch: int) -> None:
        self.run = run
        self.max_batch = max_batch
        self.made: weakref.WeakKeyDictionary[Any, Batcher[T, R]] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def __call__(self, db: Any) -> Batcher[T, R]:
        found = self.made.get(db)
        if found is None:
            with self.lock:
                found = self.made.get(db)
                if found is None:
                    found = self.made[db] = Batcher(weakly(self.run, db), self.max_batch)
        return found
