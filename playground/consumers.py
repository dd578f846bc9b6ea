"""The WebSocket a run page opens: ``/ws/runs/<id>/?after=<seq>``.

It only relays. On connect it checks that the run exists (else it closes with 4404), joins the
run's group *before* reading the database, replays the stored events after ``after``, then
relays the live tail, dropping any event it already sent (sequence numbers make that exact) and
filling any gap from the database. Nothing is lost, nothing is doubled.

Messages to the browser: ``{"type": "events", "events": [...]}`` and
``{"type": "status", "status": ..., "error": ...}``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import FleetRun, Run, fleet_group_name_for, group_name_for

CLOSE_RUN_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
REPLAY_PAGE = 500


@database_sync_to_async
def _run_status(run_id: int) -> tuple[str, str] | None:
    row = Run.objects.filter(pk=run_id).values_list("status", "error").first()
    return tuple(row) if row else None


@database_sync_to_async
def _events_after(run_id: int, seq: int) -> list[dict]:
    return Run(pk=run_id).events_after(seq, limit=REPLAY_PAGE)


@database_sync_to_async
def _fleet_run_status(run_id: int) -> tuple[str, str] | None:
    row = FleetRun.objects.filter(pk=run_id).values_list("status", "error").first()
    return tuple(row) if row else None


@database_sync_to_async
def _fleet_messages_after(run_id: int, seq: int) -> list[dict]:
    return FleetRun(pk=run_id).messages_after(seq, limit=FLEET_REPLAY_PAGE)


FLEET_REPLAY_PAGE = 200  # frames per replayed message


class RunEventsConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    # what differs between a single-VM run and a fleet run: where its rows are, its group
    load_status = staticmethod(_run_status)
    load_after = staticmethod(_events_after)
    group_for = staticmethod(group_name_for)

    async def connect(self) -> None:
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0] or 0))
        except ValueError:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        if await self.load_status(self.run_id) is None:
            await self.close(code=CLOSE_RUN_NOT_FOUND)
            return
        self.group = self.group_for(self.run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)  # before the replay
        await self.accept()
        await self._replay()
        status, error = await self.load_status(self.run_id)
        await self.send_json({"type": "status", "status": status, "error": error})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        pass  # the browser only listens

    async def _replay(self) -> None:
        while True:
            events = await self.load_after(self.run_id, self.last_seq)
            if not events:
                return
            await self._forward(events)

    async def _forward(self, events: list[dict]) -> None:
        await self.send_json({"type": "events", "events": events})
        self.last_seq = events[-1]["seq"]

    # --- group messages (sent by playground.publisher) ---------------------------------------

    async def run_events(self, message: dict) -> None:
        fresh = [event for event in message["events"] if event["seq"] > self.last_seq]
        if fresh and fresh[0]["seq"] != self.last_seq + 1:
            await self._replay()  # a message went missing: the database has it
            fresh = [event for event in fresh if event["seq"] > self.last_seq]
        if fresh:
            await self._forward(fresh)

    async def run_status(self, message: dict) -> None:
        await self.send_json({"type": "status", "status": message["status"],
                              "error": message.get("error", "")})


class FleetRunConsumer(RunEventsConsumer):
    """``/ws/fleet-runs/<id>/?after=<seq>``: the same relay for a fleet run's progress frames
    (group ``fleet.<id>``; each "event" is one aggregated frame)."""

    load_status = staticmethod(_fleet_run_status)
    load_after = staticmethod(_fleet_messages_after)
    group_for = staticmethod(fleet_group_name_for)
