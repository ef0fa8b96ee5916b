"""DeviceProtection:1 client calls the proxier needs (upnp-dm.md §6.4), on a `SoapTransport`."""

from __future__ import annotations

from proxier.dp import pkcs5
from proxier.upnp.client import SoapTransport
from proxier.upnp.description import DeviceCandidate, ServiceDescription

DP_PREFIX = "urn:schemas-upnp-org:service:DeviceProtection:"


def dp_service(candidate: DeviceCandidate) -> ServiceDescription | None:
    """The device's DeviceProtection service, if its description lists one."""
    for service in candidate.services:
        if service.service_type.startswith(DP_PREFIX):
            return service
    return None


class DpClient:
    def __init__(self, transport: SoapTransport, service: ServiceDescription) -> None:
        self.transport = transport
        self.url = service.control_url
        self.type = service.service_type
        self.event_url = service.event_sub_url  # SetupReady events (WPS, issue 9)

    async def get_assigned_roles(self) -> tuple[str, ...]:
        out = await self.transport.invoke(
            self.url, self.type, "GetAssignedRoles", (), ("RoleList",)
        )
        return tuple(out["RoleList"].split())

    async def login(self, name: str, password: str, device_id: str, cp_id: str) -> None:
        """GetUserLoginChallenge + UserLogin (PKCS5); UpnpError 606/600/701 as the device says."""
        got = await self.transport.invoke(
            self.url,
            self.type,
            "GetUserLoginChallenge",
            (("ProtocolType", pkcs5.PROTOCOL), ("Name", name)),
            ("Salt", "Challenge"),
        )
        try:
            salt, challenge = pkcs5.unb64(got["Salt"]), pkcs5.unb64(got["Challenge"])
        except ValueError as exc:
            from proxier.upnp.device import UpnpError

            raise UpnpError(0, f"GetUserLoginChallenge: device sent {exc}") from None
        stored = pkcs5.stored(name, password, salt)
        auth = pkcs5.authenticator(stored, challenge, device_id, cp_id)
        await self.transport.invoke(
            self.url,
            self.type,
            "UserLogin",
            (
                ("ProtocolType", pkcs5.PROTOCOL),
                ("Challenge", got["Challenge"]),
                ("Authenticator", pkcs5.b64(auth)),
            ),
        )
