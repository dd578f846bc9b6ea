"""Links and max-min fair sharing of them between concurrent migrations.

Every migration is a *flow* over a path of directed links: the source host's NIC (transmit), the
source rack's uplink, the spine, the target rack's downlink and the target host's NIC (receive);
a migration inside one rack uses only the two NICs. Each flow also has a *demand*, the most it
would use (its policy's bandwidth cap). Rates are max-min fair: no flow can get more without
taking from a flow that has no more than it.

Recomputing every flow at every change is what makes packet-level and naive flow-level
simulators slow down sharply with many concurrent flows. Here a change re-solves only the flows
it can affect: the changed flow's links and, transitively, links that are saturated (a link with
spare capacity constrains nobody, so it does not couple the flows on it). The water-filling
runs on that set with the capacity the other flows leave, and grows the set if a link it fills
turns out to be shared with flows outside it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

_REL_EPS = 1e-9


@dataclass(eq=False, slots=True)
class Link:
    name: str
    capacity_bps: float
    flows: set = field(default_factory=set)
    carried_bps: float = 0.0  # sum of its flows' rates
    order: int = 0  # creation order: iterations that matter follow it, never memory addresses

    def spare_bps(self) -> float:
        return self.capacity_bps - self.carried_bps

    def saturated(self) -> bool:
        return self.carried_bps >= self.capacity_bps * (1 - 1e-7)

    @property
    def utilisation(self) -> float:
        return self.carried_bps / self.capacity_bps if self.capacity_bps > 0 else 0.0


@dataclass(eq=False, slots=True)
class Flow:
    name: str
    path: tuple  # of Link
    demand_bps: float  # math.inf: only the links limit it
    rate_bps: float = 0.0
    order: int = 0  # set when added: a run is the same in every process (no hash order)


def in_order(items) -> list:
    """Flows or links in creation order, so results never depend on set iteration order."""
    return sorted(items, key=lambda item: item.order)


class Network:
    def __init__(self):
        self.links: dict[str, Link] = {}
        self.flows: set[Flow] = set()
        self._added = 0
        self._one_zone: bool | None = None  # the fleet's, known at its first migration
        # each host's NIC links and each rack's uplink and downlink by id, once made: a path is
        # found without formatting and hashing its links' names (a million VMs: 125,000 hosts)
        self._tx: dict[int, Link] = {}
        self._rx: dict[int, Link] = {}
        self._up: dict[int, Link] = {}
        self._down: dict[int, Link] = {}

    def link(self, name: str, capacity_bps: float) -> Link:
        if name not in self.links:
            self.links[name] = Link(name, capacity_bps, order=len(self.links))
        return self.links[name]

    def migration_path(self, fleet, source, target) -> tuple[Link, ...]:
        """The links a migration from host ``source`` to host ``target`` of ``fleet`` crosses, in
        order; a host NIC gives migrations ``fleet.migration_share`` of its rate. A link is made
        (``link``, in the order migrations first cross it) the first time a path needs it."""
        share = fleet.migration_share
        tx = self._tx.get(source.id)
        if tx is None:
            tx = self._tx[source.id] = self.link(f"{source.name}/tx", source.nic_bps * share)
        path = [tx]
        if source.rack != target.rack:
            src_rack, dst_rack = fleet.racks[source.rack], fleet.racks[target.rack]
            up = self._up.get(source.rack)
            if up is None:
                up = self._up[source.rack] = self.link(f"{src_rack.name}/up", src_rack.uplink_bps)
            path.append(up)
            if fleet.spine_bps is not None:  # each zone of a region has its own
                if self._one_zone is None:
                    self._one_zone = len(fleet.zones) == 1
                spine = "spine" if self._one_zone else f"{src_rack.zone}/spine"
                path.append(self.link(spine, fleet.spine_bps))
            down = self._down.get(target.rack)
            if down is None:
                down = self._down[target.rack] = self.link(
                    f"{dst_rack.name}/down", dst_rack.uplink_bps
                )
            path.append(down)
        rx = self._rx.get(target.id)
        if rx is None:
            rx = self._rx[target.id] = self.link(f"{target.name}/rx", target.nic_bps * share)
        path.append(rx)
        return tuple(path)

    # --- changes: each returns the flows whose rate changed (the new flow included) ---------

    def add(self, flow: Flow) -> set[Flow]:
        self._added += 1
        flow.order = self._added
        self.flows.add(flow)
        flow.rate_bps = 0.0
        for link in flow.path:
            link.flows.add(flow)
        return self._resolve({flow}, set(flow.path))

    def remove(self, flow: Flow) -> set[Flow]:
        self.flows.discard(flow)
        was_limiting = [link for link in flow.path if link.saturated()]
        for link in flow.path:
            link.flows.discard(flow)
            link.carried_bps -= flow.rate_bps
        flow.rate_bps = 0.0
        affected = {f for link in was_limiting for f in link.flows}
        if not affected:
            return set()
        return self._resolve(affected, set(was_limiting))

    def set_demand(self, flow: Flow, demand_bps: float) -> set[Flow]:
        if demand_bps == flow.demand_bps:
            return set()
        flow.demand_bps = demand_bps
        return self._resolve({flow}, set(flow.path))

    def burst_rate_bps(self, flow: Flow) -> float:
        """What an uncapped burst on ``flow``'s path would get: the path's spare capacity, or at
        least the flow's fair share of each link. Used for the final copy, which lasts tens of
        milliseconds: the links are not re-shared for so short a burst."""
        rate = math.inf
        for link in flow.path:
            share = max(
                link.spare_bps() + flow.rate_bps, link.capacity_bps / max(1, len(link.flows))
            )
            rate = min(rate, share)
        return rate

    # --- the solver ------------------------------------------------------------------------

    def _resolve(self, seeds: set[Flow], seed_links: set[Link]) -> set[Flow]:
        flows = set(seeds)
        for link in in_order(seed_links):
            if link.saturated() or _would_saturate(link, seeds):
                flows |= link.flows
        while True:
            flows = self._close_over_saturated(flows)
            before = {f: f.rate_bps for f in in_order(flows)}
            grow = self._water_fill(flows)
            if not grow:
                break
            for f, rate in before.items():  # undo and retry with the larger set
                self._set_rate(f, rate)
            flows |= grow
        return {
            f for f, rate in before.items() if abs(f.rate_bps - rate) > _REL_EPS * max(1.0, rate)
        } | (seeds & self.flows)

    def _close_over_saturated(self, flows: set[Flow]) -> set[Flow]:
        frontier = in_order(flows)
        seen_links: set[Link] = set()
        while frontier:
            f = frontier.pop()
            for link in f.path:
                if link in seen_links or not link.saturated():
                    continue
                seen_links.add(link)
                for g in in_order(link.flows):
                    if g not in flows:
                        flows.add(g)
                        frontier.append(g)
        return flows

    def _set_rate(self, flow: Flow, rate: float) -> None:
        delta = rate - flow.rate_bps
        if delta:
            for link in flow.path:
                link.carried_bps += delta
            flow.rate_bps = rate

    def _water_fill(self, flows: set[Flow]) -> set[Flow]:
        """Max-min rates for ``flows`` given what the other flows leave; returns outside flows
        that share a link this filled to capacity with more than their fair share (to re-solve
        with), or an empty set when the answer stands.

        Progressive filling: every unfrozen flow rises at the same level; a link freezes its
        flows when the level reaches ``(capacity - frozen rates - outside rates) / unfrozen
        flows``, a flow freezes at its demand. Candidate levels sit in a heap, so the cost is
        O(flows x path x log links).
        """
        flows = in_order(flows)
        for f in flows:
            self._set_rate(f, 0.0)
        members: dict[Link, list] = {}
        for f in flows:
            for link in f.path:
                members.setdefault(link, []).append(f)
        fixed = {link: link.carried_bps for link in members}  # outside flows' share, then frozen
        unfrozen = {link: len(fs) for link, fs in members.items()}
        # ties: links before flows, then creation order (never memory addresses)
        heap = [
            (fixed_level(link.capacity_bps, fixed[link], unfrozen[link]), 0, link.order, link)
            for link in members
        ]
        heap += [(f.demand_bps, 1, f.order, f) for f in flows if f.demand_bps < math.inf]
        heapq.heapify(heap)
        rate: dict[Flow, float] = {}
        while heap and len(rate) < len(flows):
            level, _, _, item = heapq.heappop(heap)
            if isinstance(item, Flow):
                if item in rate:
                    continue
                frozen = [item]
            else:
                link = item
                if unfrozen[link] == 0:
                    continue
                current = fixed_level(link.capacity_bps, fixed[link], unfrozen[link])
                if current > level * (1 + 1e-12) + 1e-9:  # stale entry
                    continue
                frozen = [f for f in members[link] if f not in rate]
            for f in frozen:
                f_rate = max(0.0, min(level, f.demand_bps))
                rate[f] = f_rate
                for other in f.path:
                    fixed[other] += f_rate
                    unfrozen[other] -= 1
                    if unfrozen[other] > 0:
                        heapq.heappush(
                            heap,
                            (
                                fixed_level(other.capacity_bps, fixed[other], unfrozen[other]),
                                0,
                                other.order,
                                other,
                            ),
                        )
        for f in flows:
            self._set_rate(f, rate.get(f, 0.0))
        grow = set()
        inside_set = set(flows)
        for link, inside in members.items():
            if link.saturated() and len(link.flows) > len(inside):
                top = max(f.rate_bps for f in inside)
                for g in link.flows:
                    if g not in inside_set and g.rate_bps > top * (1 + 1e-6):
                        grow.add(g)
        return grow


def fixed_level(capacity: float, fixed: float, unfrozen: int) -> float:
    return max(0.0, capacity - fixed) / unfrozen


def _would_saturate(link: Link, new_flows: set[Flow]) -> bool:
    want = sum(min(f.demand_bps, link.capacity_bps) for f in in_order(new_flows) if f in link.flows)
    return link.carried_bps + want >= link.capacity_bps * (1 - 1e-7)
