"""The console's lab ACS form: queue an RPC at `proxier labacs serve` and read its answer.

Forwarded by the proxier's API (same origin, same token) to the lab ACS REST API named by
`api.lab_acs`, so the page needs no cross-origin access. Only the RPCs the form offers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from proxier.labacs.client import LabAcsClient, LabAcsError

#: What the console form may queue (GPV, SPV, Reboot: the lab-bridge user's daily three).
FORM_RPCS = ("GetParameterValues", "SetParameterValues", "Reboot")
MAX_WAIT = 30.0


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class LabBridge:
    """`/api/lab-acs/...` routes over one LabAcsClient."""

    def __init__(self, base_url: str, acs_id: Callable[[str], str] = lambda wanted: wanted) -> None:
        self.base_url = base_url
        #: the ACS's (escaped) id of a device named in any accepted form (control/ids.py)
        self.acs_id = acs_id
        self.client = LabAcsClient(base_url, timeout=MAX_WAIT + 5)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/lab-acs/devices/{id}/tasks", self._queue)
        app.router.add_get("/api/lab-acs/devices/{id}/tasks/{task}", self._task)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        await self.client.close()

    async def _forward(self, call: Any) -> web.Response:
        try:
            result = await call
        except LabAcsError as exc:
            body = exc.body if isinstance(exc.body, dict) else {"error": str(exc.body)}
            return web.json_response(body, status=exc.status)
        except (OSError, TimeoutError) as exc:
            return _error(502, f"lab ACS at {self.base_url} unreachable: {exc}")
        return web.json_response(result)

    async def _queue(self, request: web.Request) -> web.Response:
        try:
            task = await request.json()
        except ValueError:
            return _error(400, "the body must be a task object (docs/labacs.md)")
        if not isinstance(task, dict) or task.get("name") not in FORM_RPCS:
            return _error(400, f"the console queues only {', '.join(FORM_RPCS)}")
        return await self._forward(
            self.client.add_task(self.acs_id(request.match_info["id"]), task)
        )

    async def _task(self, request: web.Request) -> web.Response:
        try:
            task_id = int(request.match_info["task"])
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT)
        except ValueError:
            return _error(400, "task must be a number, wait seconds")
        call = self.client.task(self.acs_id(request.match_info["id"]), task_id, wait=wait)
        return await self._forward(call)
