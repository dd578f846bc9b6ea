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

from . import reasons as why
from .model import UP, Fleet, Host, Vm
from .scenario import Scenario
from .scoring import ROW_SCORINGS, SCORINGS


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
        self.rack_of = [h.rack for h in fleet.hosts]
        # (arrays of machine ints: a sampled id is read from the array, not from an int object
        # somewhere in a million-VM heap)
        self.pools: dict[str, array] = {zone: array("l") for zone in fleet.zones}
        for h in fleet.hosts:
            self.pools[self.zone_of[h.id]].append(h.id)
        self.index = {h: i for pool in self.pools.values() for i, h in enumerate(pool)}
        self.due = [0] * len(fleet.hosts)  # by host id: maintenance events still to take it

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
        ids = pool if len(pool) <= self.candidates else self.rng.sample(pool, self.candidates)
        hosts = self.fleet.hosts
        rejections: dict[str, int] = {}
        due = self.due
        best, best_key = None, None
        # The common case is checked on the hosts' columns (model.HostTable): a host up, with
        # room, no anti-affinity group, under its cap. Anything else goes through
        # ``rejection``, which names the reason.
        table = self.fleet.table
        state, patched = table.state, table.patched
        vcpus_of, used_vcpus = table.vcpus, table.used_vcpus
        memory_of, used_memory = table.memory_bytes, table.used_memory_bytes
        incoming = table.incoming
        rack_of = self.rack_of
        vcpus, memory_bytes = vm.vcpus, vm.memory_bytes
        plain = vm.anti_affinity is None and not self.caps.headroom
        per_target = None if restart else self.caps.per_target_host
        source_id, source_rack = source.id, source.rack
        score, score_row = self.score, self.score_row
        for host_id in ids:
            if host_id in exclude:
                continue
            if not (
                plain
                and host_id != source_id
                and state[host_id] == UP
                and used_vcpus[host_id] + vcpus <= vcpus_of[host_id] + 1e-9
                and used_memory[host_id] + memory_bytes <= memory_of[host_id] + 1e-6
                and (per_target is None or incoming[host_id] < per_target)
            ):
                code = self.rejection(vm, source, hosts[host_id], restart)
                if code is not None:
                    rejections[code] = rejections.get(code, 0) + 1
                    continue
            key = (
                due[host_id] > 0,  # a maintenance will take it later: the VM would move again
                not patched[host_id],
                rack_of[host_id] == source_rack,
                score_row(table, host_id, vm) if score_row else score(hosts[host_id], vm),
                incoming[host_id],
                host_id,
            )
            if best_key is None or key < best_key:
                best_key = key
        if best_key is not None:
            best = hosts[best_key[-1]]
        return best, rejections
