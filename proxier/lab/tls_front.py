"""The lab device's DeviceProtection HTTPS endpoint: TLS in front of the plain HTTP server.

Why pyOpenSSL and not `ssl`: DP lets any control point connect over mutual TLS with an
unknown self-signed certificate (its session role is then Public, upnp-dm.md §6.1). Python's
`ssl` server either ignores the client certificate or verifies it against known roots, and
has no verify callback, so it cannot ask for a certificate and accept one it has never seen.
pyOpenSSL (same maintainers as `cryptography`) has that callback. It runs here on memory BIOs
inside asyncio: no threads, and the TLS record layer stays OpenSSL's.

Each accepted TLS connection is relayed to the plain HTTP server over its own loopback (or
same-host) connection; `peer_for(peername)` maps that relay connection back to the TLS peer,
so handlers know who called over TLS. A request without an entry came over plain HTTP.
Renegotiation is refused (DP §6.1: OpenSSL's OP_NO_RENEGOTIATION answers no_renegotiation).
Expired or not-yet-valid client certificates are refused at the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto

from proxier.logsafe import get_logger
from proxier.upnp.tls import dp_identity

_LOG = get_logger(__name__)
_CHUNK = 64 * 1024
_HANDSHAKE_TIMEOUT = 10.0
#: X509_V_ERR codes a DP device accepts: the peer is self-signed / unknown (Public role).
_UNKNOWN_ISSUER = frozenset({18, 19, 20, 21, 24, 27})


@dataclass(slots=True)
class TlsPeer:
    """One TLS session's control point: its certificates and DP login state."""

    chain: list[x509.Certificate]
    close: Callable[[], None]
    user: str = ""  # logged-in user Name (DP: for this TLS session only)
    challenge: bytes = b""
    challenge_name: str = ""
    failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def leaf_der(self) -> bytes:
        return self.chain[0].public_bytes(serialization.Encoding.DER)

    @property
    def identity(self) -> str:
        return dp_identity(self.leaf_der)

    @property
    def common_name(self) -> str:
        names = self.chain[0].subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        value = names[0].value if names else ""
        return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _verify(_conn: SSL.Connection, _cert: crypto.X509, errnum: int, _depth: int, ok: int) -> bool:
    return bool(ok) or errnum in _UNKNOWN_ISSUER


def server_context(chain: Path, key: Path) -> SSL.Context:
    """Mutual TLS that asks for a client certificate and accepts unknown self-signed ones."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate_chain_file(str(chain))
    context.use_privatekey_file(str(key))
    context.check_privatekey()
    context.set_options(SSL.OP_NO_RENEGOTIATION | SSL.OP_NO_COMPRESSION)
    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, _verify)
    # Session resumption with client certificates needs a session id context (OpenSSL
    # answers internal_error without one); DP allows resumption (roles are re-read anyway).
    context.set_session_id(b"proxier-lab-dp")
    return context


class TlsFront:
    """Listens for TLS on (host, port) and relays to the plain server at (host, plain_port)."""

    def __init__(self, context: SSL.Context, host: str, plain_port: int) -> None:
        self.context = context
        self.host = host
        self.plain_port = plain_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._peers: dict[tuple[str, int], TlsPeer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, self.host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def peer_for(self, peername: Any) -> TlsPeer | None:
        """The TLS peer behind a relay connection (the plain server's remote address)."""
        if not isinstance(peername, tuple) or len(peername) < 2:
            return None
        return self._peers.get((str(peername[0]), int(peername[1])))

    def peers(self) -> list[TlsPeer]:
        return list(self._peers.values())

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, SSL.Error, asyncio.IncompleteReadError, TimeoutError) as exc:
            _LOG.info("DP TLS connection from %s ended: %s", _peer(writer), _short(exc))
        except asyncio.CancelledError:
            pass  # stop(): the connection handler ends quietly (asyncio logs a cancelled one)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = SSL.Connection(self.context, None)
        conn.set_accept_state()

        async def flush() -> None:
            while True:
                try:
                    data = conn.bio_read(_CHUNK)
                except SSL.WantReadError:
                    return
                if not data:
                    return
                writer.write(data)
                await writer.drain()

        async with asyncio.timeout(_HANDSHAKE_TIMEOUT):
            while True:
                try:
                    conn.do_handshake()
                    break
                except SSL.WantReadError:
                    await flush()
                    data = await reader.read(_CHUNK)
                    if not data:
                        return
                    conn.bio_write(data)
                except SSL.Error:
                    await flush()  # the alert, when there is one
                    raise
            await flush()
        # On a server, OpenSSL's peer chain leaves the peer's own (leaf) certificate out.
        leaf = conn.get_peer_certificate(as_cryptography=True)
        if leaf is None:
            return
        extra = conn.get_peer_cert_chain(as_cryptography=True) or []
        chain = [leaf, *(c for c in extra if c != leaf)]
        up_reader, up_writer = await asyncio.open_connection(self.host, self.plain_port)
        local = up_writer.get_extra_info("sockname")
        key = (str(local[0]), int(local[1]))
        closed = asyncio.Event()
        self._peers[key] = TlsPeer(chain, closed.set)
        pumps = [
            asyncio.ensure_future(self._inbound(conn, reader, up_writer, flush)),
            asyncio.ensure_future(self._outbound(conn, up_reader, flush)),
            asyncio.ensure_future(closed.wait()),
        ]
        for pump in pumps:
            pump.add_done_callback(_consume)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            self._peers.pop(key, None)
            up_writer.close()

    async def _inbound(
        self,
        conn: SSL.Connection,
        reader: asyncio.StreamReader,
        up: asyncio.StreamWriter,
        flush: Callable[[], Any],
    ) -> None:
        # The handshake's last flight may already carry application data: drain first.
        while True:
            while True:
                try:
                    plain = conn.recv(_CHUNK)
                except SSL.WantReadError:
                    break
                except SSL.ZeroReturnError:
                    return
                up.write(plain)
            await flush()  # alerts (e.g. no_renegotiation) and TLS 1.3 tickets
            await up.drain()
            data = await reader.read(_CHUNK)
            if not data:
                return
            conn.bio_write(data)

    async def _outbound(
        self, conn: SSL.Connection, up: asyncio.StreamReader, flush: Callable[[], Any]
    ) -> None:
        while data := await up.read(_CHUNK):
            conn.sendall(data)
            await flush()
        with contextlib.suppress(SSL.Error):
            conn.shutdown()
        await flush()


def _consume(task: asyncio.Future[Any]) -> None:
    """A pump ends when either side goes away: its error is the end of the connection."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        _LOG.debug("DP TLS relay ended: %s", _short(exc))


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) else "?"


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]
