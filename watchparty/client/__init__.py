"""A WatchParty sync client: it speaks the realtime protocol (docs/protocol.md), estimates its clock against the
server's, and keeps a player in sync by the server's drift rules. `SimulatedPlayer` is an imperfect player on a
true clock, and `simulate` runs many of them, for the tests, the benchmarks and `watchparty simulate`. A real
player integration implements `Player` and hands it to `Viewer`.

It stands alone: nothing here imports the server's code (an import-linter contract keeps it so)."""

from watchparty.client.clock import ClockSync
from watchparty.client.drift import Correction, Corrector, DriftParams
from watchparty.client.player import Imperfections, Player, SimulatedPlayer
from watchparty.client.viewer import Viewer

__all__ = [
    "ClockSync",
    "Correction",
    "Corrector",
    "DriftParams",
    "Imperfections",
    "Player",
    "SimulatedPlayer",
    "Viewer",
]
