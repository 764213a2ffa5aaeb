"""Which process of a distributed training this is, and the few collectives the PEFT backend needs.

Outside torchrun (one process) every helper is a no-op: rank 0 of a world of 1.
"""

from __future__ import annotations

import os


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    """True in the one process that logs to MLflow and writes checkpoint metadata and outputs."""
    return rank() == 0


def _active() -> bool:
    if world_size() == 1:
        return False
    import torch.distributed as torch_dist

    return torch_dist.is_available() and torch_dist.is_initialized()


def init() -> None:
    """Join the process group torchrun describes (gloo on CPU, nccl on GPU), once."""
    if world_size() == 1:
        return
    import torch
    import torch.distributed as torch_dist

    if not torch_dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        torch_dist.init_process_group("nccl" if cuda else "gloo")


def barrier() -> None:
    if _active():
        import torch.distributed as torch_dist

        torch_dist.barrier()


def sum_over_ranks(value: float) -> float:
    """`value` added up over all processes (every process must call this at the same point)."""
    if not _active():
        return value
    import torch
    import torch.distributed as torch_dist

    device = "cuda" if torch_dist.get_backend() == "nccl" else "cpu"
    total = torch.tensor([float(value)], dtype=torch.float64, device=device)
    torch_dist.all_reduce(total)
    return float(total.item())


def shutdown() -> None:
    if _active():
        import torch.distributed as torch_dist

        torch_dist.destroy_process_group()
