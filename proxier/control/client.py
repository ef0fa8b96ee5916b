"""Talks to a running proxier's local API for `status`, `inform` and `devices`.

The API is found from `--api URL` (the URL the daemon prints: `http://host:port/api/` or
`unix:/path`) or from `--config FILE` (its api section, the token from its state dir).
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass
from typing import Any

import aiohttp

from proxier.config import Config, ConfigError, load
from proxier.control.token import read_token, token_path

DEFAULT_API = "http://127.0.0.1:7549/api/"


class ApiError(RuntimeError):
    """One line for the operator: what failed and, where known, what to do."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", metavar="FILE", help="the proxier's TOML configuration")
    where.add_argument(
        "--api", metavar="URL", help=f"API URL as the daemon prints it (default {DEFAULT_API})"
    )
    parser.add_argument("--token-file", metavar="FILE", help="bearer token file (TCP only)")


@dataclass(frozen=True, slots=True)
class Endpoint:
    base: str  # http://host:port (no /api)
    socket: str = ""
    token: str = ""


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/api")] if url.endswith("/api") else url


def _client_host(bind: str) -> str:
    address = ipaddress.ip_address(bind)
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{bind}]" if address.version == 6 else bind


def from_config(config: Config) -> Endpoint:
    api = config.api
    token = ""
    if api.socket:
        return Endpoint("http://localhost", socket=api.socket)
    if not api.enable:
        raise ApiError("the local API is off in this configuration (api.enable = false)")
    if api.port == 0:
        raise ApiError("api.port = 0 (any free port): use --api with the URL the daemon logged")
    if api.token:
        path = token_path(config.state.dir)
        try:
            token = read_token(path)
        except FileNotFoundError:
            raise ApiError(f"no API token at {path}: is the proxier running?") from None
        except PermissionError:
            raise ApiError(f"cannot read {path}: run as the proxier's user") from None
    return Endpoint(f"http://{_client_host(api.bind)}:{api.port}", token=token)


def endpoint(args: argparse.Namespace) -> Endpoint:
    token = ""
    if args.token_file:
        try:
            token = read_token(args.token_file)
        except OSError as exc:
            raise ApiError(f"cannot read {args.token_file}: {exc.strerror}") from None
    if args.config:
        try:
            found = from_config(load(args.config))
        except ConfigError as exc:
            raise ApiError(f"config error: {exc}") from None
        return Endpoint(found.base, found.socket, token or found.token)
    url = args.api or DEFAULT_API
    if url.startswith("unix:"):
        return Endpoint("http://localhost", socket=url[len("unix:") :])
    if not url.startswith(("http://", "https://")):
        raise ApiError(f"--api {url!r}: use the URL the daemon prints (http://… or unix:/…)")
    return Endpoint(_base(url), token=token)


async def call(point: Endpoint, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, JSON) of one API request; network failures become ApiError."""
    headers = {"Authorization": f"Bearer {point.token}"} if point.token else {}
    connector = aiohttp.UnixConnector(path=point.socket) if point.socket else None
    timeout = aiohttp.ClientTimeout(total=10)
    where = f"unix:{point.socket}" if point.socket else point.base
    try:
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.request(method, point.base + path, json=body, headers=headers) as resp,
        ):
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = {"error": (await resp.text())[:200]}
            return resp.status, data
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise ApiError(
            f"cannot reach the local API at {where}: {exc or type(exc).__name__}"
        ) from None


def check(status: int, data: Any) -> Any:
    """The data of a 2xx answer; else ApiError with the API's own message."""
    if 200 <= status < 300:
        return data
    message = data.get("error", "") if isinstance(data, dict) else ""
    if status == 401:
        message = "unauthorized: use --config FILE or --token-file <state.dir>/api-token"
    raise ApiError(f"HTTP {status}: {message or 'error'}")
