"""Scoring rules for placement: among the hosts a VM may go to, which one it should go to.

A scoring function takes a candidate host and the VM and returns a number: lower is better.
``SCORINGS`` is the registry by name, read by the scenario (``placement.scoring`` must name one)
and by placement (which calls it). Register another rule to plug it in:
``SCORINGS["my_rule"] = fn``.
"""

from __future__ import annotations

from .model import Host, Vm


def least_loaded(host: Host, vm: Vm) -> float:
    """Prefer the host with the most free memory (spreads load)."""
    return -(host.memory_bytes - host.used_memory_bytes)


def best_fit(host: Host, vm: Vm) -> float:
    """Prefer the host with the least free memory that still fits (packs hosts)."""
    return host.memory_bytes - host.used_memory_bytes


SCORINGS = {"least_loaded": least_loaded, "best_fit": best_fit}


# The same rules on many hosts at once, from the hosts' memory and used memory (numpy arrays, as
# placement reads them from the host table for the 64 hosts it checks per VM; a rule without one
# here is called with each ``Host``): each must give exactly what its rule gives.
def _least_loaded_row(memory_bytes, used_memory_bytes, vm: Vm):
    return -(memory_bytes - used_memory_bytes)


def _best_fit_row(memory_bytes, used_memory_bytes, vm: Vm):
    return memory_bytes - used_memory_bytes


ROW_SCORINGS = {least_loaded: _least_loaded_row, best_fit: _best_fit_row}
