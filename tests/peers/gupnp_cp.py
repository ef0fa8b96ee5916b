#!/usr/bin/python3
"""A GUPnP 1.6 control point (PyGObject) for testing a device written with
async-upnp-client (or anything else).

    ip netns exec upnp-cp /usr/bin/python3 gupnp_cp.py --iface upnp0 \
        [--target urn:schemas-upnp-org:service:ConfigurationManagement:2] \
        [--events 2] [--timeout 20]

Steps: SSDP discovery (GSSDP resource browser, M-SEARCH + NOTIFY) ->
GUPnP fetches the description -> service-proxy-available -> SOAP GetValues
(+ SetValues if the SCPD has it) -> GENA subscribe (add_notify +
set_subscribed) -> wait for --events NOTIFYs -> unsubscribe.
Prints "OK ..." lines; exit 0 only if everything worked.
(From the team's upnp-peers recipe, with the GetValues/SetValues paths made options.)
"""

import argparse
import os
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gi
import nsguard  # noqa: F401

gi.require_version("GUPnP", "1.6")
gi.require_version("GSSDP", "1.6")
from gi.repository import GSSDP, Gio, GLib, GObject, GUPnP  # noqa: E402

CMS = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
CMS_NS = "urn:schemas-upnp-org:dm:cms"


def content_path_list(path):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<cms:ContentPathList xmlns:cms="{CMS_NS}">'
        f"<ContentPath>{escape(path)}</ContentPath></cms:ContentPathList>"
    )


def parameter_value_list(path, value):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<cms:ParameterValueList xmlns:cms="{CMS_NS}">'
        f"<Parameter><ParameterPath>{escape(path)}</ParameterPath>"
        f"<Value>{escape(value)}</Value></Parameter></cms:ParameterValueList>"
    )


def log(*a):
    print(*a, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="upnp0")
    ap.add_argument("--address", help="local IP (default: first address of --iface)")
    ap.add_argument("--target", default=CMS, help="SSDP target / service type")
    ap.add_argument("--events", type=int, default=2)
    ap.add_argument(
        "--notify",
        action="append",
        help="evented variable to watch (repeatable; default ConfigurationUpdate and "
        "CurrentConfigurationVersion); --events counts NOTIFYs carrying all of them",
    )
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--uda", choices=["1.0", "1.1"], default="1.0")
    ap.add_argument("--get-path", default="/UPnP/DM/", help="ContentPath for GetValues")
    ap.add_argument("--set-path", default="/UPnP/DM/X_Test/Writable", help="'' skips SetValues")
    ap.add_argument("--set-value", default="set-by-gupnp")
    a = ap.parse_args()
    watched = a.notify or ["ConfigurationUpdate", "CurrentConfigurationVersion"]

    uda = GSSDP.UDAVersion.VERSION_1_0 if a.uda == "1.0" else GSSDP.UDAVersion.VERSION_1_1
    addr = Gio.InetAddress.new_from_string(a.address) if a.address else None
    ctx = GUPnP.Context.new_full(a.iface, addr, 0, uda)
    log(f"CONTEXT iface={ctx.get_interface()} host={ctx.get_host_ip()} port={ctx.get_port()}")
    cp = GUPnP.ControlPoint.new(ctx, a.target)
    loop = GLib.MainLoop()
    state = {"events": 0, "ok": False, "proxy": None, "done_calls": False}

    def finish(ok):
        state["ok"] = ok
        proxy = state["proxy"]
        if proxy is not None and proxy.get_subscribed():
            proxy.set_subscribed(False)  # UNSUBSCRIBE
            log("OK unsubscribed")
        # let the UNSUBSCRIBE go out before quitting
        GLib.timeout_add(300, loop.quit)
        return False

    def on_notify(proxy, variable, value, *user_data):
        state["events"] += 1
        log(f"OK event #{state['events']} {variable}={value!r}")
        if state["events"] >= a.events * len(watched):  # one callback per variable
            finish(True)

    def on_proxy(cp_, proxy):
        if state["done_calls"]:
            return
        state["done_calls"] = True
        state["proxy"] = proxy
        log(
            f"OK service-proxy-available {proxy.get_service_type()} udn={proxy.get_udn()} "
            f"location={proxy.get_location()} control={proxy.get_control_url()}"
        )
        try:
            act = GUPnP.ServiceProxyAction.new_from_list(
                "GetValues", ["Parameters"], [content_path_list(a.get_path)]
            )
            proxy.call_action(act, None)
            _ok, vals = act.get_result_list(["ParameterValueList"], [GObject.TYPE_STRING])
            log(f"OK SOAP GetValues -> {vals[0]!r}")
            if a.set_path:
                pvl = parameter_value_list(a.set_path, a.set_value)
                act = GUPnP.ServiceProxyAction.new_from_list(
                    "SetValues", ["ParameterValueList"], [pvl]
                )
                proxy.call_action(act, None)
                _ok, vals = act.get_result_list(["Status"], [GObject.TYPE_STRING])
                log(f"OK SOAP SetValues -> Status={vals[0]!r}")
        except GLib.Error as e:
            log(f"FAIL SOAP: {e.message}")
            finish(False)
            return
        if a.events <= 0:
            finish(True)
            return
        for name in watched:
            gtype = (
                GObject.TYPE_UINT if name == "CurrentConfigurationVersion" else GObject.TYPE_STRING
            )
            proxy.add_notify(name, gtype, on_notify, None)
        proxy.connect(
            "subscription-lost", lambda p, err: log(f"FAIL subscription lost: {err.message}")
        )
        proxy.set_subscribed(True)  # SUBSCRIBE
        log("OK subscribe requested")

    cp.connect("service-proxy-available", on_proxy)
    cp.connect(
        "device-proxy-available",
        lambda c, d: log(
            f"OK device-proxy-available {d.get_device_type()} {d.get_friendly_name()!r}"
        ),
    )
    cp.set_active(True)  # starts M-SEARCH and listens for NOTIFY

    def timeout():
        log(f"FAIL timeout after {a.timeout}s (events={state['events']})")
        finish(False)
        return False

    GLib.timeout_add(int(a.timeout * 1000), timeout)
    loop.run()
    return 0 if state["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
