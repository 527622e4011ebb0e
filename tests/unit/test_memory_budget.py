"""The memory budget that bounds image decodes: never over its limit, first come first served, an oversized
reservation runs alone, and a cancelled wait gives its turn away."""

from __future__ import annotations

import asyncio

import pytest

from watchparty.core.budget import MemoryBudget


async def test_never_over_the_limit_and_first_come_first_served() -> None:
    budget = MemoryBudget(100)
    order: list[str] = []
    peak = 0
    gates = {name: asyncio.Event() for name in "abcd"}

    async def job(name: str, size: int) -> None:
        nonlocal peak
        async with budget.reserve(size):
            order.append(name)
            peak = max(peak, budget.used)
            await gates[name].wait()

    tasks = [asyncio.create_task(job(n, size)) for n, size in zip("abcd", (60, 50, 10, 40), strict=True)]
    await asyncio.sleep(0)
    assert order == ["a"]  # b does not fit beside a, and c, small enough, does not jump the queue
    gates["a"].set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert order == ["a", "b", "c", "d"] and budget.used == 100
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
    assert peak <= 100 and budget.used == 0


async def test_a_reservation_larger_than_the_budget_runs_alone() -> None:
    budget = MemoryBudget(100)
    async with budget.reserve(10):
        waiting = asyncio.create_task(_hold(budget, 500))
        await asyncio.sleep(0)
        assert not waiting.done() and budget.used == 10
    await waiting
    assert budget.used == 0


async def test_a_cancelled_wait_gives_its_turn_away() -> None:
    budget = MemoryBudget(100)
    async with budget.reserve(90):
        big = asyncio.create_task(_hold(budget, 50))
        small = asyncio.create_task(_hold(budget, 10))
        await asyncio.sleep(0)
        assert budget.used == 90
        big.cancel()
        with pytest.raises(asyncio.CancelledError):
            await big
        await small  # fits beside the 90 once the big one ahead of it left the queue
    assert budget.used == 0


async def _hold(budget: MemoryBudget, size: int) -> None:
    async with budget.reserve(size):
        await asyncio.sleep(0)
