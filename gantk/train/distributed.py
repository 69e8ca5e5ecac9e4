"""Training across the processes ``torchrun`` starts: who this process is, and the few collectives
the trainer needs beyond DistributedDataParallel's own gradient all-reduce.

torchrun sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and the rendezvous address; a run started
without it (or with one process) is the plain single-process run, untouched. Collectives move
tensors and bytes only (JSON, safetensors): nothing one rank sends is unpickled by another.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

from gantk.errors import GantkError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def main(self) -> bool:
        """Rank 0: the one that reads the model directory first and writes everything."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def collective_device(self) -> torch.device:
        """Where tensors must be for this backend's collectives (NCCL: the rank's GPU)."""
        return torch.device("cuda", self.local_rank) if self.backend == "nccl" else torch.device("cpu")


SINGLE = Ranks()
T = TypeVar("T")


class RankStopped(GantkError):
    """Another rank failed first and rank 0 reports why; this rank stops without repeating it."""


def torchrun_world() -> tuple[int, int, int]:
    """(rank, world size, local rank) as torchrun set them; (0, 1, 0) outside torchrun."""
    try:
        return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError as error:
        raise GantkError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers ({error})") from None


def is_main_process() -> bool:
    """False on every torchrun rank but 0: commands that go on after training (augment, detect)
    leave their outputs to rank 0."""
    return torchrun_world()[0] == 0


@contextlib.contextmanager
def joined(device: torch.device) -> Iterator[tuple[Ranks, torch.device]]:
    """Join the torchrun job (gloo on CPU, NCCL on GPU) for the block, and the device this rank
    trains on (its own GPU: ``cuda:LOCAL_RANK``). Outside torchrun: ``SINGLE`` and ``device``."""
    rank, world_size, local_rank = torchrun_world()
    if world_size <= 1:
        yield SINGLE, device
        return
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, rank=rank, world_size=world_size,
                                device_id=device if device.type == "cuda" else None)
    except (RuntimeError, ValueError) as error:
        raise GantkError(f"rank {rank}: could not join the torchrun job ({error})") from None
    try:
        with _stopped_by_torchrun():
            yield Ranks(rank, world_size, local_rank, backend), device
    finally:
        dist.destroy_process_group()


class StoppedByTorchrun(GantkError):
    """torchrun stopped this rank (SIGTERM): another rank ended or the job was cancelled."""


@contextlib.contextmanager
def _stopped_by_torchrun() -> Iterator[None]:
    """torchrun ends every rank with SIGTERM when one fails: turn it into an error that says so,
    rather than a silent death, so rank 0 can name the checkpoint to resume from."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop is enough; say where it stood
        raise StoppedByTorchrun("stopped by torchrun: another rank ended or the job was stopped")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException:
        # the job is ending (a collective failed when another rank died): torchrun's SIGTERM,
        # which may come while this rank is still on its way out, must not cut off the line
        # that says where training stood and how to resume
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise
    signal.signal(signal.SIGTERM, previous)


# -- agreeing before training -------------------------------------------------------------
def from_rank_zero(ranks: Ranks, work: Callable[[], bytes]) -> bytes:
    """``work()`` on rank 0 (which alone reads the model directory), its bytes on every rank. If
    it fails, rank 0 raises the error and every other rank stops with ``RankStopped``: no rank is
    left waiting for a broadcast that never comes."""
    if not ranks.distributed:
        return work()
    failure, payload = None, b""
    if ranks.main:
        try:
            payload = work()
        except Exception as error:  # every failure must reach the other ranks before it stops us
            failure = error
    message = broadcast_bytes(ranks, b"!" + one_line(failure).encode() if failure
                              else b"." + payload)
    if failure is not None:
        raise failure
    if message[:1] == b"!":
        raise RankStopped(f"rank {ranks.rank}: stopped, rank 0 failed: {message[1:].decode()}")
    return message[1:]


def on_every_rank(ranks: Ranks, work: Callable[[], T], fingerprint: Callable[[T], str],
                  what: str) -> T:
    """``work()`` on every rank, then agreement: if it failed on any rank, or a rank's
    ``fingerprint`` of the result differs from rank 0's (``what`` it fingerprints), rank 0 raises
    an error naming the first such rank and the others stop with ``RankStopped``."""
    if not ranks.distributed:
        return work()
    failure, result = None, None
    try:
        result = work()
        status = "." + fingerprint(result)
    except Exception as error:  # as in from_rank_zero: tell the others first
        failure, status = error, "!" + one_line(error)
    statuses = [item.decode() for item in gather_bytes(ranks, status.encode())]
    problem = next(((rank, f"rank {rank}: {item[1:]}") for rank, item in enumerate(statuses)
                    if item.startswith("!")), None)
    if problem is None:
        problem = next(((rank, f"rank {rank} and rank 0 read different {what}; every rank must "
                         "train on the same data") for rank, item in enumerate(statuses)
                        if item != statuses[0]), None)
    if problem is None:
        return result
    if failure is not None and problem[0] == ranks.rank:
        raise failure
    if ranks.main:
        raise GantkError(problem[1])
    raise RankStopped(f"rank {ranks.rank}: stopped: {problem[1]}")


def one_line(error: BaseException | None) -> str:
    """An error as one line; a collective's (gloo, NCCL) without its source location and advice."""
    if error is None:
        return ""
    text = str(error) if isinstance(error, GantkError) else f"{type(error).__name__}: {error}"
    text = " ".join(text.split())
    if isinstance(error, RuntimeError) and text.startswith("RuntimeError: ["):
        text = text.split("] ", 1)[-1].split(". ", 1)[0]
    return text


def state_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of named tensors (sorted by name, values as stored): ranks whose nets give the same
    digest hold bit-identical weights."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(value.dtype).encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# -- collectives ---------------------------------------------------------------------------
def broadcast_bytes(ranks: Ranks, payload: bytes | None) -> bytes:
    """Rank 0's ``payload`` on every rank."""
    import torch.distributed as dist

    size = torch.tensor([len(payload) if ranks.main else 0], dtype=torch.int64,
                        device=ranks.collective_device)
    dist.broadcast(size, 0)
    if ranks.main:
        buffer = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    else:
        buffer = torch.empty(int(size.item()), dtype=torch.uint8)
    buffer = buffer.to(ranks.collective_device)
    dist.broadcast(buffer, 0)
    return bytes(buffer.cpu().numpy())


def gather_bytes(ranks: Ranks, payload: bytes) -> list[bytes]:
    """Every rank's ``payload``, in rank order, on every rank."""
    import torch.distributed as dist

    device = ranks.collective_device
    size = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    sizes = [torch.empty_like(size) for _ in range(ranks.world_size)]
    dist.all_gather(sizes, size)
    longest = max(int(item.item()) for item in sizes)
    buffer = torch.zeros(longest, dtype=torch.uint8)
    if payload:
        buffer[: len(payload)] = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    buffer = buffer.to(device)
    gathered = [torch.empty_like(buffer) for _ in range(ranks.world_size)]
    dist.all_gather(gathered, buffer)
    return [bytes(item.cpu().numpy()[: int(length.item())])
            for item, length in zip(gathered, sizes, strict=True)]


def gather_tensors(ranks: Ranks, tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``tensor`` (same shape and dtype on all), on the CPU, in rank order."""
    import torch.distributed as dist

    local = tensor.to(ranks.collective_device)
    gathered = [torch.empty_like(local) for _ in range(ranks.world_size)]
    dist.all_gather(gathered, local)
    return [item.cpu() for item in gathered]


def sum_over_ranks(ranks: Ranks, tensor: torch.Tensor) -> torch.Tensor:
    import torch.distributed as dist

    total = tensor.to(ranks.collective_device)
    dist.all_reduce(total)
    return total.to(tensor.device)


def batchnorm_buffers(*nets: nn.Module) -> list[torch.Tensor]:
    """The running means and variances of every batch norm in ``nets``: each rank updates them
    from its own batches, so they drift apart unless averaged."""
    return [buffer for net in nets for module in net.modules()
            if isinstance(module, nn.modules.batchnorm._BatchNorm)
            for buffer in (module.running_mean, module.running_var) if buffer is not None]
