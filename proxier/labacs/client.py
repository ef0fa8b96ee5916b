"""Async client for the lab ACS REST surface (tests, the demo, `proxier labacs …`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp


class LabAcsError(Exception):
    """The lab ACS answered with an error status; `status` and the decoded body say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class LabAcsClient:
    """`async with LabAcsClient("http://127.0.0.1:7547") as acs: await acs.devices()`."""

    def __init__(self, base_url: str, *, timeout: float = 330.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LabAcsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def _dev(dev_id: str) -> str:
        # the id itself holds %XX escapes (GenieACS style), so they are escaped once more
        return "/devices/" + quote(dev_id, safe="")

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.base_url + path
        async with self._session.request(method, url, json=json, params=params) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = await response.text()
            if response.status >= 400:
                raise LabAcsError(response.status, body)
            return body

    async def devices(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", "/devices")
        return result

    async def device(self, dev_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", self._dev(dev_id))
        return result

    async def informs(
        self, dev_id: str, *, after: int = 0, wait: float = 0.0
    ) -> list[dict[str, Any]]:
        """Inform history (id > after); with `wait`, long-poll until at least one exists."""
        params = {"after": str(after)}
        if wait:
            params["wait"] = str(wait)
        result: list[dict[str, Any]] = await self._call(
            "GET", self._dev(dev_id) + "/informs", params=params
        )
        return result

    async def sessions(self, dev_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", self._dev(dev_id) + "/sessions")
        return result

    async def cpe_requests(self, dev_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", self._dev(dev_id) + "/cpe-requests")
        return result

    async def tasks(self, dev_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", self._dev(dev_id) + "/tasks")
        return result

    async def add_task(
        self, dev_id: str, task: dict[str, Any], *, connection_request: bool = True
    ) -> dict[str, Any]:
        params = None if connection_request else {"connection_request": "0"}
        result: dict[str, Any] = await self._call(
            "POST", self._dev(dev_id) + "/tasks", json=task, params=params
        )
        return result

    async def task(self, dev_id: str, task_id: int, *, wait: float = 0.0) -> dict[str, Any]:
        params = {"wait": str(wait)} if wait else None
        result: dict[str, Any] = await self._call(
            "GET", f"{self._dev(dev_id)}/tasks/{task_id}", params=params
        )
        return result

    async def run_task(
        self, dev_id: str, task: dict[str, Any], *, wait: float = 30.0
    ) -> dict[str, Any]:
        """Queue a task (with a Connection Request) and wait for its outcome."""
        queued = await self.add_task(dev_id, task)
        return await self.task(dev_id, int(queued["id"]), wait=wait)

    async def connection_request(self, dev_id: str) -> str:
        result = await self._call("POST", self._dev(dev_id) + "/connection-request")
        return str(result["connectionRequest"])

    async def set_cr_credentials(self, dev_id: str, username: str, password: str) -> None:
        await self._call(
            "PUT",
            self._dev(dev_id) + "/connection-request-credentials",
            json={"username": username, "password": password},
        )
