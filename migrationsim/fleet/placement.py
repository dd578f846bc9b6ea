"""Target selection: where a leaving VM may go, and why every rejected host was rejected.

A candidate must be up and not named by any maintenance, have the free vCPUs and memory for the
VM (the empty target VM reserves them), keep the capacity headroom, hold no VM of the VM's
anti-affinity group, and be under its per-target cap. Among those, a scoring rule picks one
(``scoring.py``: ``least_loaded``, ``best_fit``, or one you register in ``SCORINGS``), after
preferring hosts already through this maintenance (the VM will not have to move again) and
another rack than the source's (spread). Hosts a running maintenance has still to take out of
service come last: a VM sent there would have to move again (hosts already through it, or
outside its scope, first). Large fleets are sampled: ``candidates`` hosts drawn
at random from those in service, the way large schedulers sample rather than scan. A VM moves
within its zone only (a region's zones share no live migration): each zone has its own pool.
"""

from __future__ import annotations

import random
from array import array

import numpy as np

from . import reasons as why
from .model import STATE_CODE, UP, Fleet, Host, Vm
from .sampling import sample_positions
from .scenario import Scenario
from .scoring import ROW_SCORINGS, SCORINGS

_UP_CODE = STATE_CODE[UP]


class Placement:
    def __init__(self, fleet: Fleet, scenario: Scenario, rng: random.Random):
        self.fleet = fleet
        self.caps = scenario.caps
        self.score = SCORINGS[scenario.scoring]
        self.score_row = ROW_SCORINGS.get(self.score)  # the same rule on the hosts' columns
        self.candidates = scenario.candidates
        self.rng = rng
        # hosts in service, by zone; a host's place in its zone's pool
        self.zone_of = [fleet.racks[h.rack].zone for h in fleet.hosts]
        self.rack_of = np.array([h.rack for h in fleet.hosts], dtype=np.int64)
        # (arrays of machine ints: a sampled id is read from the array, not from an int object
        # somewhere in a million-VM heap)
        self.pools: dict[str, array] = {zone: array("q") for zone in fleet.zones}
        for h in fleet.hosts:
            self.pools[self.zone_of[h.id]].append(h.id)
        self.index = {h: i for pool in self.pools.values() for i, h in enumerate(pool)}
        # by host id: maintenance events still to take it
        self.due = array("q", bytes(8 * len(fleet.hosts)))
        self.due_view = np.frombuffer(self.due, dtype=np.int64)

    def will_take(self, hosts) -> None:
        """A maintenance event will take these hosts out of service, each in its turn."""
        for host in hosts:
            self.due[host.id] += 1

    def taken(self, host: Host) -> None:
        """One maintenance event took this host (or passed it by: it had failed)."""
        if self.due[host.id] > 0:
            self.due[host.id] -= 1

    def leave_pool(self, host: Host) -> None:
        i = self.index.pop(host.id, None)
        if i is None:
            return
        pool = self.pools[self.zone_of[host.id]]
        last = pool.pop()
        if last != host.id:
            pool[i] = last
            self.index[last] = i

    def join_pool(self, host: Host) -> None:
        if host.id not in self.index:
            pool = self.pools[self.zone_of[host.id]]
            self.index[host.id] = len(pool)
            pool.append(host.id)

    def rejection(self, vm: Vm, source: Host, host: Host, restart: bool) -> str | None:
        if host is source:
            return why.SAME_HOST
        if host.state != UP:
            return why.HOST_IN_MAINTENANCE
        headroom = self.caps.headroom
        if not host.fits(vm.vcpus, vm.memory_bytes, 0.0):
            return why.NO_CAPACITY
        if headroom and not host.fits(vm.vcpus, vm.memory_bytes, headroom):
            return why.HEADROOM
        if vm.anti_affinity is not None and any(
            self.fleet.vms[v].anti_affinity == vm.anti_affinity for v in host.vms
        ):
            return why.ANTI_AFFINITY
        if (
            not restart
            and self.caps.per_target_host is not None
            and host.incoming >= self.caps.per_target_host
        ):
            return why.CAP_TARGET_HOST
        return None

    def choose(self, vm: Vm, source: Host, *, exclude=(), restart: bool = False):
        """(the chosen host or None, {rejection code: count})."""
        pool = self.pools[self.zone_of[source.id]]
        if len(pool) <= self.candidates:
            ids = np.array(pool, dtype=np.int64)
        else:
            drawn = sample_positions(self.rng, len(pool), self.candidates)
            ids = np.frombuffer(pool, dtype=np.int64)[drawn]  # (a copy)
        if ids.size == 0:
            return None, {}
        hosts = self.fleet.hosts
        columns = self.fleet.table.views()
        # what placement reads of the drawn hosts, read once (at a million VMs, each read of a
        # column at 64 random rows waits on memory)
        incoming = columns.incoming[ids]
        memory_bytes = columns.memory_bytes[ids]
        used_memory_bytes = columns.used_memory_bytes[ids]
        # The common case is checked on all drawn hosts at once: a host up, with room, under
        # its cap, for a VM with no anti-affinity group and no headroom to keep. Any other
        # host goes through ``rejection``, which names the reason.
        per_target = None if restart else self.caps.per_target_host
        if vm.anti_affinity is None and not self.caps.headroom:
            quick = (
                (columns.state[ids] == _UP_CODE)
                & (ids != source.id)
                & (columns.used_vcpus[ids] + vm.vcpus <= columns.vcpus[ids] + 1e-9)
                & (used_memory_bytes + vm.memory_bytes <= memory_bytes + 1e-6)
            )
            if per_target is not None:
                quick &= incoming < per_target
        else:
            quick = np.zeros(ids.size, dtype=bool)
        allowed = quick.copy()
        rejections: dict[str, int] = {}
        if not quick.all():
            for i in np.flatnonzero(~quick).tolist():  # in the order drawn
                host_id = int(ids[i])
                if host_id in exclude:
                    continue
                code = self.rejection(vm, source, hosts[host_id], restart)
                if code is None:
                    allowed[i] = True
                else:
                    rejections[code] = rejections.get(code, 0) + 1
        if exclude:
            allowed &= ~np.isin(ids, list(exclude))
        if not allowed.any():
            return None, rejections
        if self.score_row is not None:
            score = self.score_row(memory_bytes[allowed], used_memory_bytes[allowed], vm)
        else:
            score = np.array(
                [self.score(hosts[h], vm) for h in ids[allowed].tolist()], dtype=np.float64
            )
        chosen = self._preferred(ids[allowed], incoming[allowed], score, source, columns)
        return hosts[chosen], rejections

    def _preferred(self, ids, incoming, score, source: Host, columns) -> int:
        """The host, among those allowed, that a VM should go to, in this order: one no
        maintenance will take later (the VM would move again), one already through this
        maintenance, another rack than the source's, the best score, the fewest arriving
        migrations, the lowest id."""
        order = np.lexsort(
            (
                ids,
                incoming,
                score,
                self.rack_of[ids] == source.rack,
                columns.patched[ids] == 0,
                self.due_view[ids] > 0,
            )
        )
        return int(ids[order[0]])
